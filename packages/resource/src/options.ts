import { z } from 'zod';
import type { AccessTokenClaims } from './claims.js';
import { ResourceConfigError } from './errors.js';
import type { LocationEnforcer } from './location.js';
import type { RevocationStore } from './revocation/revocation-store.js';

/** Asymmetric JWS algorithms. `none` and the HMAC family are never accepted: a public key is not a secret. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** A custom claim check: true passes; false or a string (the description) refuses with 403 insufficient_scope. */
export type ClaimCheck = (claims: AccessTokenClaims) => boolean | string;

const isFunction = (value: unknown) => typeof value === 'function';
const url = z.url({ protocol: /^https?$/ });

export const resourceOptionsSchema = z.strictObject({
  /** The issuer URL, exactly as in the tokens' `iss`. Metadata is discovered from it. */
  issuer: url,
  /** This API's identifier(s): a token must name one in `aud`. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
  /** Also accept `typ: JWT` (issuers that do not implement RFC 9068). */
  acceptJwtType: z.boolean().default(false),
  clockToleranceSeconds: z.number().int().min(0).max(600).default(60),
  /** Longest token lifetime accepted and how long revocations are remembered (default 28 h). */
  maxTokenLifetimeSeconds: z
    .number()
    .int()
    .positive()
    .default(28 * 3600),
  maxTokenLength: z.number().int().min(64).max(65_536).default(16_384),
  /** Verified tokens remembered (LRU); a remembered token skips the signature check, nothing else. */
  tokenCacheSize: z.number().int().min(1).default(10_000),
  /** Skip discovery of the key set location. */
  jwksUri: url.optional(),
  /** `authorization_uri` of claims challenges; discovered (`authorization_endpoint`) when absent. */
  authorizationUri: url.optional(),
  realm: z.string().default(''),
  /** All of these delegated scopes (`scp` / `scope`) are required… */
  requiredScopes: z.array(z.string().min(1)).optional(),
  /** …or, when both are given, all of these app roles (`roles`) instead. */
  requiredRoles: z.array(z.string().min(1)).optional(),
  claimChecks: z.array(z.custom<ClaimCheck>(isFunction, 'must be a function')).default([]),
  /** Proxies whose X-Forwarded-For / Forwarded is believed: IPs, CIDRs, `loopback`, `linklocal`, `uniquelocal`. */
  trustedProxies: z.array(z.string().min(1)).default([]),
  forwardedHeader: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
  /** Revocation state; an in-memory store by default. */
  store: z
    .custom<RevocationStore>(
      (value) =>
        typeof value === 'object' && value !== null && isFunction((value as RevocationStore).revokedBefore),
      'must implement RevocationStore',
    )
    .optional(),
  location: z
    .custom<LocationEnforcer>(
      (value) => typeof value === 'object' && value !== null && isFunction((value as LocationEnforcer).check),
      'must implement LocationEnforcer',
    )
    .optional(),
  metadataTimeoutMs: z.number().int().positive().default(5000),
  /** Minimum time between JWKS refetches triggered by an unknown `kid` (key rotation). */
  jwksCooldownMs: z.number().int().min(0).default(30_000),
  /** Current time in milliseconds; for tests. */
  now: z.custom<() => number>(isFunction, 'must be a function').default(() => Date.now),
});

export type ResourceOptions = z.input<typeof resourceOptionsSchema>;
export type ResolvedResourceOptions = z.output<typeof resourceOptionsSchema>;

/** Validates options once, at creation, with one readable error listing every problem. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success)
    throw new ResourceConfigError(`invalid ${what} options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
