/**
 * The location policy document the issuer serves at /conditional-access/v1/location-policies
 * (docs/conditional-access.md), parsed strictly enough that a garbled document is refused whole and
 * the last good one stays in force. Unknown members are ignored so the issuer can add some.
 */
import { z } from 'zod';

const ids = z.array(z.string().max(2048)).max(10_000);

export const locationPolicyDocumentSchema = z.object({
  audience: z.string(),
  policyVersion: z.number().int().nonnegative(),
  audienceVersion: z.number().int().nonnegative(),
  policies: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        assignments: z.object({
          users: z.object({ include: ids, exclude: ids }),
          groups: z.object({ include: ids, exclude: ids }),
          servicePrincipals: z.object({ include: ids, exclude: ids }),
        }),
        locations: z.object({ include: ids.min(1), exclude: ids }),
        caeMode: z.string(),
      }),
    )
    .max(10_000),
  namedLocations: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        trusted: z.boolean(),
        ranges: z.array(z.string()).max(1_000_000),
      }),
    )
    .max(10_000),
});

export type LocationPolicyDocument = z.infer<typeof locationPolicyDocumentSchema>;
export type LocationPolicy = LocationPolicyDocument['policies'][number];
