import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { AccessTokenClaims } from './claims.js';
import { ExpiringLru } from './expiring-lru.js';
import type { IssuerMetadataSource } from './issuer-metadata.js';
import type { CheckFailure } from './reasons.js';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string | string[];
  /** Asymmetric JWS algorithms only; validated by the options schema. */
  algorithms: string[];
  /** Also accept `typ: JWT` (issuers that predate RFC 9068). */
  acceptJwtType: boolean;
  clockToleranceSeconds: number;
  /** Longest lifetime (exp - iat) accepted; revocation state is kept exactly this long. */
  maxTokenLifetimeSeconds: number;
  tokenCacheSize: number;
  /** Where the keys are; discovered from the issuer metadata when absent. */
  jwksUri?: string;
  metadata: IssuerMetadataSource;
  jwksTimeoutMs: number;
  /** Minimum time between two JWKS fetches caused by unknown key ids. */
  jwksCooldownMs: number;
  /** Resolves keys itself instead of fetching the issuer's JWKS (a local key set, a test double). */
  getKey?: JWTVerifyGetKey;
  /** Current time in milliseconds. */
  now: () => number;
}

export type TokenVerification =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; failure: CheckFailure };

const ACCEPTED_TYPES = new Set(['at+jwt']);

/**
 * Characters of the token's end used as its cache key: the end of the signature, 258 bits that only
 * the issuer's key can produce for this header and payload.
 */
const CACHE_KEY_LENGTH = 43;

/**
 * Why the cache is keyed this way (measured, docs/resource.md "Memory and speed"): hashing the whole
 * token per request (SHA-256, or V8's own string hash when the token itself is the Map key) costs
 * 2–4 µs for a 1 KB token, more than all the other per-request checks together. The key is the
 * signature's last 43 characters (V8 hashes 43 characters in nanoseconds) and a hit counts only when
 * the stored token equals the presented one, so a forged token that copies a cached token's signature
 * misses and goes to the signature check. Timing: the full comparison is reached only by presenting
 * the signature of a live cached token, i.e. by already holding it; what it could reveal (where the
 * header or payload differ) is not secret. Memory: each entry keeps its token string (about 1 KB for
 * OpenCAE tokens) next to its claims, so the default 10,000 entries hold roughly 10 MB of tokens at
 * most; `tokenCacheSize` bounds it.
 */
function cacheKey(token: string): string {
  return token.length > CACHE_KEY_LENGTH ? token.slice(-CACHE_KEY_LENGTH) : token;
}

interface VerifiedToken {
  token: string;
  claims: AccessTokenClaims;
}

/**
 * Verifies access tokens with jose against the issuer's JWKS, and remembers tokens it has verified
 * (until they expire) so a token seen before costs a map lookup and a string comparison instead of a
 * signature check. Only the signature and registered claims are cached: revocation, location and scope
 * checks run on every request, after this.
 */
export class TokenVerifier {
  readonly #cache: ExpiringLru<VerifiedToken>;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: TokenVerifierOptions) {
    this.#cache = new ExpiringLru(options.tokenCacheSize);
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  /** The claims of a token verified before and not expired at `now` (ms), without allocating; else undefined. */
  cached(token: string, now: number): AccessTokenClaims | undefined {
    const entry = this.#cache.get(cacheKey(token), now);
    return entry !== undefined && entry.token === token ? entry.claims : undefined;
  }

  async verify(token: string): Promise<TokenVerification> {
    const now = this.options.now();
    const cached = this.cached(token, now);
    if (cached) return { ok: true, claims: cached };

    let getKey: JWTVerifyGetKey;
    try {
      getKey = await this.#jwks();
    } catch (error) {
      return {
        ok: false,
        failure: { reason: 'key_source_unavailable', description: (error as Error).message },
      };
    }
    let claims: AccessTokenClaims;
    try {
      const result = await jwtVerify<AccessTokenClaims>(token, getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: this.options.algorithms,
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['iss', 'exp', 'iat'],
        currentDate: new Date(now),
      });
      const type = normalizeType(result.protectedHeader.typ);
      if (!ACCEPTED_TYPES.has(type) && !(this.options.acceptJwtType && type === 'jwt')) {
        return {
          ok: false,
          failure: { reason: 'invalid_type', description: 'the token typ header is not at+jwt' },
        };
      }
      claims = result.payload;
    } catch (error) {
      return { ok: false, failure: failureFromJose(error) };
    }
    const lifetimeFailure = this.#checkLifetime(claims);
    if (lifetimeFailure) return { ok: false, failure: lifetimeFailure };

    this.#cache.set(
      cacheKey(token),
      { token, claims },
      (claims.exp + this.options.clockToleranceSeconds) * 1000,
    );
    return { ok: true, claims };
  }

  /** The authorization endpoint to name in claims challenges (from discovery), once known. */
  async authorizationEndpoint(): Promise<string | undefined> {
    try {
      return (await this.options.metadata.get()).authorization_endpoint;
    } catch {
      return undefined;
    }
  }

  #checkLifetime(claims: AccessTokenClaims): CheckFailure | undefined {
    if (!Number.isFinite(claims.iat)) return { reason: 'missing_claim', description: 'iat is not a number' };
    if (claims.iat > this.options.now() / 1000 + this.options.clockToleranceSeconds) {
      return { reason: 'token_not_yet_valid', description: 'iat is in the future' };
    }
    // Revocation entries are pruned after maxTokenLifetime; a longer-lived token could outlive its revocation.
    if (claims.exp - claims.iat > this.options.maxTokenLifetimeSeconds) {
      return {
        reason: 'token_lifetime_exceeded',
        description: `the token lifetime exceeds ${this.options.maxTokenLifetimeSeconds} seconds`,
      };
    }
    return undefined;
  }

  #jwks(): Promise<JWTVerifyGetKey> {
    if (this.options.getKey) return Promise.resolve(this.options.getKey);
    this.#keys ??= (async () => {
      const uri = this.options.jwksUri ?? (await this.options.metadata.get()).jwks_uri;
      // jose refetches on an unknown kid (at most once per cooldown), which is how key rotation is followed.
      return createRemoteJWKSet(new URL(uri), {
        timeoutDuration: this.options.jwksTimeoutMs,
        cooldownDuration: this.options.jwksCooldownMs,
        cacheMaxAge: 10 * 60_000,
      });
    })().catch((error: unknown) => {
      this.#keys = undefined;
      throw error;
    });
    return this.#keys;
  }
}

function normalizeType(typ: string | undefined): string {
  const lower = (typ ?? '').toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/** Maps jose's error classes (by their stable codes) to our rejection reasons. */
export function failureFromJose(error: unknown): CheckFailure {
  const message = error instanceof Error ? error.message : String(error);
  // Errors that are not jose's come from fetching the key set (network), not from the token.
  if (!(error instanceof errors.JOSEError)) return { reason: 'key_source_unavailable', description: message };
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return { reason: 'token_expired', description: 'the token has expired' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { reason: 'algorithm_not_allowed', description: message };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { reason: 'invalid_signature', description: 'the token signature does not verify' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { reason: 'unknown_key', description: 'no key of the issuer matches the token' };
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC': // jose's remote JWKS: non-200 response
      return { reason: 'key_source_unavailable', description: message };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === 'iss') return { reason: 'invalid_issuer', description: 'unexpected iss' };
      if (claim === 'aud') return { reason: 'invalid_audience', description: 'unexpected aud' };
      if (claim === 'nbf' && reason === 'check_failed') {
        return { reason: 'token_not_yet_valid', description: 'the token is not valid yet' };
      }
      return { reason: 'missing_claim', description: message };
    }
    default:
      return { reason: 'token_malformed', description: message };
  }
}
