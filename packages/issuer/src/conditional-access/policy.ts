/**
 * The Conditional Access policy model (zod: one source for validation, types and docs).
 * A policy applies when its assignments, target APIs and every condition it sets match the request;
 * then its grant controls (block, require MFA) and session controls (CAE mode) take effect.
 */
import { z } from 'zod';

export const ALL = 'All';
export const ALL_TRUSTED = 'AllTrusted';
export const GUESTS = 'Guests';

export const policyStates = ['enabled', 'reportOnly', 'disabled'] as const;
export type PolicyState = (typeof policyStates)[number];

export const riskLevels = ['none', 'low', 'medium', 'high'] as const;
export type PolicyRiskLevel = (typeof riskLevels)[number];

/** `default`: normal CAE; `strictLocation`: never suspend IP checks (block on IP variation);
 * `disabled`: no CAE for the assigned identities (short non-CAE tokens, no `xms_cc`). */
export const caeModes = ['default', 'strictLocation', 'disabled'] as const;
export type CaeMode = (typeof caeModes)[number];

const objectId = z.uuid({ message: 'must be an object id (uuid)' });
const audience = z.string().min(1).max(2048);
const unique = <T>(values: T[]) => new Set(values).size === values.length;
const list = <T extends z.ZodType>(item: T) =>
  z.array(item).max(1000).default([]).refine(unique, 'must not repeat an entry');

export const policyInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    state: z.enum(policyStates),
    assignments: z.strictObject({
      /** Users by id, `All` (every user, members and guests) or `Guests` (every guest user). */
      users: z
        .strictObject({
          include: list(z.union([z.literal(ALL), z.literal(GUESTS), objectId])),
          exclude: list(z.union([z.literal(GUESTS), objectId])),
        })
        .default({ include: [], exclude: [] }),
      /** Users through their group membership. */
      groups: z
        .strictObject({ include: list(objectId), exclude: list(objectId) })
        .default({ include: [], exclude: [] }),
      /** Workload identities: service principals by id, or `All`. */
      servicePrincipals: z
        .strictObject({ include: list(z.union([z.literal(ALL), objectId])), exclude: list(objectId) })
        .default({ include: [], exclude: [] }),
    }),
    /** The APIs (token audiences) the policy protects. */
    targetApis: z.strictObject({
      include: z
        .array(z.union([z.literal(ALL), audience]))
        .min(1, 'name at least one API audience, or All')
        .max(1000)
        .refine(unique, 'must not repeat an entry'),
      exclude: list(audience),
    }),
    conditions: z
      .strictObject({
        /** Where the client is: named location ids, `AllTrusted` (any trusted location), `All`. */
        locations: z
          .strictObject({
            include: z
              .array(z.union([z.literal(ALL), z.literal(ALL_TRUSTED), objectId]))
              .min(1, 'name at least one location, AllTrusted or All')
              .max(1000)
              .refine(unique, 'must not repeat an entry'),
            exclude: list(z.union([z.literal(ALL_TRUSTED), objectId])),
          })
          .optional(),
        userRiskLevels: z
          .array(z.enum(riskLevels))
          .min(1)
          .refine(unique, 'must not repeat a level')
          .optional(),
        servicePrincipalRiskLevels: z
          .array(z.enum(riskLevels))
          .min(1)
          .refine(unique, 'must not repeat a level')
          .optional(),
        /** Whether the client declared the `cp1` capability on this token request. */
        clientCapability: z.enum(['cp1Declared', 'cp1NotDeclared']).optional(),
      })
      .default({}),
    grantControls: z
      .strictObject({ block: z.boolean().default(false), requireMfa: z.boolean().default(false) })
      .default({ block: false, requireMfa: false }),
    sessionControls: z
      .strictObject({ caeMode: z.enum(caeModes).default('default') })
      .default({ caeMode: 'default' }),
  })
  .superRefine((policy, ctx) => {
    const { users, groups, servicePrincipals } = policy.assignments;
    if (users.include.length + groups.include.length + servicePrincipals.include.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['assignments'],
        message: 'include at least one user, group, Guests, service principal or All',
      });
    }
    const { block, requireMfa } = policy.grantControls;
    if (block && requireMfa) {
      ctx.addIssue({
        code: 'custom',
        path: ['grantControls'],
        message: 'choose block or requireMfa, not both',
      });
    }
    if (!block && !requireMfa && policy.sessionControls.caeMode === 'default') {
      ctx.addIssue({
        code: 'custom',
        path: ['grantControls'],
        message: 'the policy has no effect: set block, requireMfa or a sessionControls.caeMode',
      });
    }
    if (requireMfa && servicePrincipals.include.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['grantControls', 'requireMfa'],
        message: 'workload identities cannot perform MFA; assign MFA policies to users and groups only',
      });
    }
  });

export type PolicyInput = z.input<typeof policyInputSchema>;
export type PolicyDefinition = z.output<typeof policyInputSchema>;

export interface ConditionalAccessPolicy extends PolicyDefinition {
  id: string;
}

/** The named location ids a policy refers to (to validate references and find affected policies). */
export function referencedLocationIds(policy: PolicyDefinition): string[] {
  const locations = policy.conditions.locations;
  if (!locations) return [];
  return [...locations.include, ...locations.exclude].filter(
    (entry) => entry !== ALL && entry !== ALL_TRUSTED,
  );
}

/** Whether the policy's location condition depends on the trusted flag of named locations. */
export function usesTrustedLocations(policy: PolicyDefinition): boolean {
  const locations = policy.conditions.locations;
  return !!locations && [...locations.include, ...locations.exclude].includes(ALL_TRUSTED);
}

/** A location-based blocking policy: the kind the resource enforces on every request. */
export function isLocationBlockPolicy(policy: PolicyDefinition): boolean {
  return policy.grantControls.block && policy.conditions.locations !== undefined;
}
