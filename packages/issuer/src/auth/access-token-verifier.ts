/**
 * Verifies access tokens this issuer signed, for its own protected APIs (admin, Shared Signals, policy
 * sync). Keys come from the local key store, not over HTTP; an unknown `kid` triggers one reload so a
 * rotation done by another replica is picked up, and the set is reloaded when a retired key's
 * publication ends, so a key that left the JWKS is refused here too.
 */
import { OpenCaeError } from '@opencae/protocol';
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { SigningKeyStore } from '../keys/signing-keys.js';

export type AccessTokenClaims = JWTPayload & {
  scp?: string;
  roles?: string[];
  azp?: string;
  oid?: string;
  idtyp?: 'user' | 'app';
  [claim: string]: unknown;
};

export class InvalidAccessTokenError extends OpenCaeError {
  constructor(description: string) {
    super('ERR_INVALID_ACCESS_TOKEN', description);
  }
}

export class AccessTokenVerifier {
  private keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  private knownKids = new Set<string>();
  /** When the first loaded key leaves the published set (ms since the epoch). */
  private reloadAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly keys: SigningKeyStore,
    private readonly issuer: string,
  ) {}

  async verify(token: string, audience: string): Promise<AccessTokenClaims> {
    if (token.length > 16_384) throw new InvalidAccessTokenError('the access token is too large');
    const kid = safeKid(token);
    if (!this.keySet || (kid && !this.knownKids.has(kid)) || Date.now() >= this.reloadAt) await this.reload();
    try {
      const { payload } = await jwtVerify(token, this.keySet!, {
        issuer: this.issuer,
        audience,
        algorithms: ['RS256'],
        typ: 'at+jwt',
        clockTolerance: 60,
      });
      return payload as AccessTokenClaims;
    } catch (error) {
      throw new InvalidAccessTokenError(describe(error));
    }
  }

  private async reload(): Promise<void> {
    const published = await this.keys.publishedKeys();
    this.keySet = createLocalJWKSet({ keys: published.map((key) => key.publicJwk) });
    this.knownKids = new Set(published.map((key) => key.kid));
    // Without this, a retired key loaded once would verify here until the next unknown kid, however
    // long after it left the JWKS (a stolen key would keep working against the admin API).
    this.reloadAt = Math.min(
      Number.POSITIVE_INFINITY,
      ...published.map((key) => key.publishedUntil?.getTime() ?? Number.POSITIVE_INFINITY),
    );
  }
}

function safeKid(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return typeof header?.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the access token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the access token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey)
    return 'the access token was not signed by a key of this issuer';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the access token algorithm is not allowed';
  return 'the access token is malformed';
}
