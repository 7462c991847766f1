import { createLocalJWKSet, type JWTVerifyGetKey, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, FakeIssuer } from '../test/support/fake-issuer.js';
import { IssuerMetadataSource } from './issuer-metadata.js';
import { TokenVerifier, type TokenVerifierOptions } from './token-verifier.js';

let issuer: FakeIssuer;
beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(() => issuer.close());

function verifier(overrides: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  const now = overrides.now ?? Date.now;
  return new TokenVerifier({
    issuer: issuer.url,
    audience: 'api://test',
    algorithms: ['RS256', 'ES256'],
    acceptJwtType: false,
    clockToleranceSeconds: 30,
    maxTokenLifetimeSeconds: 28 * 3600,
    tokenCacheSize: 100,
    metadata: new IssuerMetadataSource(issuer.url, { timeoutMs: 2000, retryAfterMs: 0, now }),
    jwksTimeoutMs: 2000,
    jwksCooldownMs: 0,
    now,
    ...overrides,
  });
}

describe('TokenVerifier', () => {
  it('discovers the JWKS from the issuer metadata and verifies a token', async () => {
    const result = await verifier().verify(await issuer.token());
    expect(result).toMatchObject({ ok: true, claims: { sub: 'user-1', iss: issuer.url } });
  });

  it('skips the signature check for a token it has verified, until the token expires', async () => {
    let keyLookups = 0;
    const local = createLocalJWKSet({ keys: [issuer.key.publicJwk] });
    const getKey: JWTVerifyGetKey = (header, token) => {
      keyLookups++;
      return local(header, token);
    };
    let now = Date.now();
    const v = verifier({ getKey, now: () => now });
    const token = await issuer.token({}, { lifetimeSeconds: 600 });
    expect((await v.verify(token)).ok).toBe(true);
    expect((await v.verify(token)).ok).toBe(true);
    expect(keyLookups).toBe(1);
    now += 700_000;
    expect(await v.verify(token)).toMatchObject({ ok: false, failure: { reason: 'token_expired' } });
    expect(keyLookups).toBe(2);
  });

  it("does not let a forged token borrow a cached token's signature (the cache key)", async () => {
    const v = verifier();
    const genuine = await issuer.token({ roles: ['reader'] });
    expect((await v.verify(genuine)).ok).toBe(true);
    const [header, , signature] = genuine.split('.');
    const payload = JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, roles: ['admin'] })).toString('base64url');
    const forged = `${header}.${forgedPayload}.${signature}`;
    expect(v.cached(forged, Date.now())).toBeUndefined();
    expect(await v.verify(forged)).toMatchObject({ ok: false, failure: { reason: 'invalid_signature' } });
    // The genuine token is still served from the cache.
    expect(v.cached(genuine, Date.now())?.roles).toEqual(['reader']);
  });

  it('keeps at most tokenCacheSize tokens', async () => {
    const v = verifier({ tokenCacheSize: 2 });
    for (let i = 0; i < 4; i++) await v.verify(await issuer.token({ sub: `user-${i}` }));
    expect(v.cacheSize).toBe(2);
  });

  it('follows key rotation: a token signed by a newly published key verifies', async () => {
    const v = verifier();
    expect((await v.verify(await issuer.token())).ok).toBe(true);
    const fresh = await issuer.rotate('ES256');
    try {
      expect((await v.verify(await issuer.token({}, { key: fresh }))).ok).toBe(true);
    } finally {
      issuer.keys.shift();
    }
  });

  it('accepts typ JWT only when configured', async () => {
    const token = await issuer.token({}, { typ: 'JWT' });
    expect(await verifier().verify(token)).toMatchObject({ ok: false, failure: { reason: 'invalid_type' } });
    expect((await verifier({ acceptJwtType: true }).verify(token)).ok).toBe(true);
    expect((await verifier().verify(await issuer.token({}, { typ: 'application/at+jwt' }))).ok).toBe(true);
  });

  it.each([
    ['a wrong audience', { audience: 'api://other' }, 'invalid_audience'],
    [
      'an expired token',
      { iat: Math.floor(Date.now() / 1000) - 7200, lifetimeSeconds: 3600 },
      'token_expired',
    ],
    ['a lifetime beyond maxTokenLifetime', { lifetimeSeconds: 29 * 3600 }, 'token_lifetime_exceeded'],
  ])('refuses %s', async (_name, options, reason) => {
    expect(await verifier().verify(await issuer.token({}, options))).toMatchObject({
      ok: false,
      failure: { reason },
    });
  });

  it('refuses a token from another issuer and one signed by an unknown key', async () => {
    const stranger = await createSigningKey();
    const foreign = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.key.kid, typ: 'at+jwt' })
      .setIssuer('https://evil.example')
      .setAudience('api://test')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(issuer.key.privateKey);
    expect(await verifier().verify(foreign)).toMatchObject({
      ok: false,
      failure: { reason: 'invalid_issuer' },
    });
    expect(await verifier().verify(await issuer.token({}, { key: stranger }))).toMatchObject({
      ok: false,
      failure: { reason: 'unknown_key' },
    });
  });

  it('refuses a token whose iat is in the future beyond the clock tolerance', async () => {
    const token = await issuer.token({}, { iat: Math.floor(Date.now() / 1000) + 3600 });
    expect((await verifier().verify(token)).ok).toBe(false);
  });

  it('reports an unreachable issuer as key_source_unavailable', async () => {
    const v = verifier({
      metadata: new IssuerMetadataSource('http://127.0.0.1:1', {
        timeoutMs: 500,
        retryAfterMs: 0,
        now: Date.now,
      }),
    });
    expect(await v.verify(await issuer.token())).toMatchObject({
      ok: false,
      failure: { reason: 'key_source_unavailable' },
    });
  });
});
