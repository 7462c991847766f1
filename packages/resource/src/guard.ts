import {
  buildBearerChallenge,
  buildClaimsChallenge,
  type ClaimsRequest,
  CP1,
  revocationClaims,
  tokenHasCapability,
} from '@opencae/protocol';
import { extractBearerToken } from './bearer.js';
import type { AccessTokenClaims } from './claims.js';
import { type ForwardedHeader, resolveClientIp, TrustedProxies } from './client-ip.js';
import { type RequestHeaders, singleHeader } from './headers.js';
import { IssuerMetadataSource } from './issuer-metadata.js';
import type { LocationEnforcer } from './location.js';
import {
  parseOptions,
  type ResolvedResourceOptions,
  type ResourceOptions,
  resourceOptionsSchema,
} from './options.js';
import { type CheckFailure, REJECTION_REASONS, type RejectionReason } from './reasons.js';
import { MemoryRevocationStore } from './revocation/memory-store.js';
import type { RevocationStore } from './revocation/revocation-store.js';
import { tokenSubjectKeys } from './revocation/subject-keys.js';
import { TokenVerifier } from './token-verifier.js';

export interface RequestInput {
  headers: RequestHeaders;
  /** The socket peer; forwarding headers are consulted only when it is a trusted proxy. */
  remoteAddress?: string;
  /** The client address when the caller has resolved it already (takes precedence over remoteAddress). */
  clientIp?: string;
}

export interface Rejection {
  ok: false;
  status: number;
  headers: Record<string, string>;
  body: { error: string; error_description: string; reason: RejectionReason };
}

export interface Acceptance {
  ok: true;
  claims: AccessTokenClaims;
  token: string;
  clientIp: string | undefined;
}

export type RequestDecision = Acceptance | Rejection;

export interface ResourceGuard {
  /** Bearer extraction → token verification (cached) → revocation → location → scopes, for one request. */
  verifyRequest(input: RequestInput): Promise<RequestDecision>;
  /** The client address of a request, after trusted-proxy resolution. */
  clientIp(remoteAddress: string | undefined, headers: RequestHeaders): string | undefined;
  readonly store: RevocationStore;
  readonly options: Readonly<ResolvedResourceOptions>;
  /** Closes the revocation store if the guard created it. */
  close(): Promise<void>;
}

type Revocation = CheckFailure & { revokedAt: number };

/** Creates the framework-agnostic core; adapters are thin glue over it. Throws ResourceConfigError on bad options. */
export function createResourceGuard(input: ResourceOptions): ResourceGuard {
  const options = parseOptions(resourceOptionsSchema, input, 'resource guard');
  const metadata = new IssuerMetadataSource(options.issuer, {
    timeoutMs: options.metadataTimeoutMs,
    retryAfterMs: 5000,
    now: options.now,
  });
  const verifier = new TokenVerifier({
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    acceptJwtType: options.acceptJwtType,
    clockToleranceSeconds: options.clockToleranceSeconds,
    maxTokenLifetimeSeconds: options.maxTokenLifetimeSeconds,
    tokenCacheSize: options.tokenCacheSize,
    jwksUri: options.jwksUri,
    metadata,
    jwksTimeoutMs: options.metadataTimeoutMs,
    jwksCooldownMs: options.jwksCooldownMs,
    now: options.now,
  });
  const ownStore = options.store === undefined;
  const store =
    options.store ??
    new MemoryRevocationStore({
      retentionSeconds: options.maxTokenLifetimeSeconds + options.clockToleranceSeconds,
      now: options.now,
    });
  const proxies = new TrustedProxies(options.trustedProxies);
  const forwardedHeader: ForwardedHeader = options.forwardedHeader;
  const location: LocationEnforcer | undefined = options.location;
  // What depends only on the claims object (which the token cache keeps) is computed once per token.
  const factsOf = new WeakMap<AccessTokenClaims, TokenFacts>();
  const factsFor = (claims: AccessTokenClaims): TokenFacts => {
    let facts = factsOf.get(claims);
    if (facts === undefined) {
      facts = { subjectKeys: tokenSubjectKeys(claims), scopeDenial: scopeDenial(claims, options) };
      factsOf.set(claims, facts);
    }
    return facts;
  };
  let authorizationUri = options.authorizationUri;

  const reject = (failure: CheckFailure, scope?: string): Rejection => {
    const { status, error } = REJECTION_REASONS[failure.reason];
    const headers: Record<string, string> = {};
    if (status === 401 || status === 403) {
      headers['www-authenticate'] = buildBearerChallenge({
        realm: options.realm,
        error,
        errorDescription: error ? headerSafe(failure.description) : undefined,
        scope,
      });
    }
    if (status === 503) headers['retry-after'] = '5';
    return {
      ok: false,
      status,
      headers,
      body: {
        error: error ?? (status === 503 ? 'temporarily_unavailable' : 'unauthorized'),
        error_description: failure.description,
        reason: failure.reason,
      },
    };
  };

  /** A CAE-capable client gets a claims challenge it can answer; any other client a plain invalid_token. */
  const challenge = async (
    claims: AccessTokenClaims,
    failure: CheckFailure,
    claimsRequest: ClaimsRequest,
  ): Promise<Rejection> => {
    if (!tokenHasCapability(claims.xms_cc, CP1)) return reject(failure);
    authorizationUri ??= await verifier.authorizationEndpoint();
    const rejection = reject(failure);
    rejection.headers['www-authenticate'] = buildClaimsChallenge({
      realm: options.realm,
      authorizationUri: authorizationUri ?? options.issuer,
      errorDescription: headerSafe(failure.description),
      claims: claimsRequest,
    });
    rejection.body.error = 'insufficient_claims';
    return rejection;
  };

  const revocation = (claims: AccessTokenClaims, keys: readonly string[]): Revocation | undefined => {
    for (const key of keys) {
      const disabledSince = store.disabledSince(key);
      if (disabledSince > 0) {
        return {
          reason: 'account_disabled',
          description: 'the account is disabled',
          revokedAt: Math.max(disabledSince, store.revokedBefore(key)),
        };
      }
      const revokedBefore = store.revokedBefore(key);
      // Inclusive: event times and `iat` are whole seconds, so a token from the revocation's own second
      // may predate it. The issuer answers the challenge's nbf with iat >= nbf + 1, which passes.
      if (claims.iat <= revokedBefore) {
        return key.startsWith('s:')
          ? { reason: 'session_revoked', description: 'the session was revoked', revokedAt: revokedBefore }
          : { reason: 'token_revoked', description: 'the token was revoked', revokedAt: revokedBefore };
      }
    }
    return undefined;
  };

  /** Custom claim checks run on every request (they may depend on more than the claims). */
  const claimCheckFailure = (claims: AccessTokenClaims): CheckFailure | undefined => {
    for (const check of options.claimChecks) {
      const result = check(claims);
      if (result !== true) {
        return {
          reason: 'insufficient_scope',
          description: typeof result === 'string' ? result : 'a claim check failed',
        };
      }
    }
    return undefined;
  };

  const clientIp = (remoteAddress: string | undefined, headers: RequestHeaders) =>
    resolveClientIp(remoteAddress, headers, proxies, forwardedHeader);

  return {
    store,
    options,
    clientIp,
    async verifyRequest(request) {
      const { headers } = request;
      // Fast path: a token verified before, presented exactly as then (`Bearer <token>`), is found
      // without the syntax check; anything else takes the full RFC 6750 extraction below.
      let token: string | undefined;
      let claims: AccessTokenClaims | undefined;
      const header = singleHeader(headers, 'authorization');
      if (header?.startsWith('Bearer ')) {
        token = header.slice(7);
        claims = verifier.cached(token, options.now());
      }
      if (claims === undefined) {
        const bearer = extractBearerToken(headers, options.maxTokenLength);
        if (bearer.token === undefined) return reject(bearer.failure);
        const verified = await verifier.verify(bearer.token);
        if (!verified.ok) return reject(verified.failure);
        token = bearer.token;
        claims = verified.claims;
      }
      const facts = factsFor(claims);

      const revoked = revocation(claims, facts.subjectKeys);
      if (revoked) return challenge(claims, revoked, revocationClaims(revoked.revokedAt));

      const ip = request.clientIp ?? clientIp(request.remoteAddress, headers);
      if (location) {
        const decision = location.check(claims, ip);
        if (!decision.allowed) {
          const failure: CheckFailure = {
            reason: decision.code ?? 'location_blocked',
            description: decision.reason,
          };
          // Not knowing the policies is our problem, not the token's: a new token would not help.
          if (failure.reason === 'location_policy_unavailable') return reject(failure);
          // A token from now on, evaluated with the address this resource sees (xms_rp_ipaddr).
          return challenge(claims, failure, revocationClaims(Math.floor(options.now() / 1000), ip));
        }
      }

      if (facts.scopeDenial) return reject(facts.scopeDenial.failure, facts.scopeDenial.scope);
      const checkFailure = options.claimChecks.length > 0 ? claimCheckFailure(claims) : undefined;
      if (checkFailure) return reject(checkFailure);
      return { ok: true, claims, token: token!, clientIp: ip };
    },
    async close() {
      if (ownStore) await store.close();
    },
  };
}

/** Per-token results, computed on the token's first request and reused while it is cached. */
interface TokenFacts {
  subjectKeys: readonly string[];
  scopeDenial: ScopeDenial | undefined;
}

interface ScopeDenial {
  failure: CheckFailure;
  /** The `scope` attribute of the insufficient_scope challenge. */
  scope: string;
}

/** `requiredScopes` (all) or `requiredRoles` (all): a property of the claims and the options only. */
function scopeDenial(claims: AccessTokenClaims, options: ResolvedResourceOptions): ScopeDenial | undefined {
  const { requiredScopes, requiredRoles } = options;
  if (!requiredScopes && !requiredRoles) return undefined;
  const scopes = new Set(listClaim(claims.scp ?? claims.scope));
  const roles = new Set(listClaim(claims.roles));
  const hasScopes = requiredScopes?.every((s) => scopes.has(s)) ?? false;
  const hasRoles = requiredRoles?.every((r) => roles.has(r)) ?? false;
  if (hasScopes || hasRoles) return undefined;
  return {
    failure: { reason: 'insufficient_scope', description: `requires ${describeRequirement(options)}` },
    scope: [...(requiredScopes ?? []), ...(requiredRoles ?? [])].join(' '),
  };
}

/** Descriptions may come from hooks: keep them printable so the header can always be built. */
function headerSafe(description: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return description.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
}

function listClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function describeRequirement(options: ResolvedResourceOptions): string {
  const parts: string[] = [];
  if (options.requiredScopes) parts.push(`scopes ${options.requiredScopes.join(', ')}`);
  if (options.requiredRoles) parts.push(`roles ${options.requiredRoles.join(', ')}`);
  return parts.join(' or ');
}
