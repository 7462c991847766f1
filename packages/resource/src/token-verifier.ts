import { createHash } from 'node:crypto';
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
 * Verifies access tokens with jose against the issuer's JWKS, and remembers tokens it has verified
 * (keyed by their SHA-256, until they expire) so a token seen before costs a hash and a map lookup
 * instead of a signature check. Only the signature and registered claims are cached: revocation,
 * location and scope checks run on every request, after this.
 */
export class TokenVerifier {
  readonly #cache: ExpiringLru<AccessTokenClaims>;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: TokenVerifierOptions) {
    this.#cache = new ExpiringLru(options.tokenCacheSize);
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  async verify(token: string): Promise<TokenVerification> {
    const now = this.options.now();
    const cacheKey = createHash('sha256').update(token).digest('base64url');
    const cached = this.#cache.get(cacheKey, now);
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

    this.#cache.set(cacheKey, claims, (claims.exp + this.options.clockToleranceSeconds) * 1000);
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
