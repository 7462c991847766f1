/** Hostile and broken input: each is refused with the right status and reason, never a crash or a 5xx. */
import { CAEP } from '@opencae/protocol';
import fc from 'fast-check';
import { exportSPKI, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTransmitter } from '../test/support/fake-transmitter.js';
import { createResourceGuard, type ResourceGuard } from './guard.js';
import { createSsfReceiver, type SsfReceiver } from './receiver/receiver.js';
import { MemoryRevocationStore } from './revocation/memory-store.js';

let transmitter: FakeTransmitter;
let guard: ResourceGuard;
let receiver: SsfReceiver;
const store = new MemoryRevocationStore({ retentionSeconds: 86_400 });
const PUSH_AUTH = 'Bearer a-long-enough-push-secret-value';

beforeAll(async () => {
  transmitter = await FakeTransmitter.start();
  guard = createResourceGuard({ issuer: transmitter.url, audience: 'api://test' });
  receiver = createSsfReceiver({
    transmitter: transmitter.url,
    audience: transmitter.audience,
    clientId: 'c',
    clientSecret: 's',
    delivery: { method: 'push', endpointUrl: 'http://127.0.0.1:9/ssf/push', authorizationHeader: PUSH_AUTH },
    store,
  });
});
afterAll(async () => {
  await guard.close();
  await store.close();
  await transmitter.close();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const call = (authorization: string) => guard.verifyRequest({ headers: { authorization } });
const now = () => Math.floor(Date.now() / 1000);

describe('bad tokens', () => {
  it.each([
    ['a single word', 'abc', 'token_malformed'],
    ['two segments', 'abc.def', 'token_malformed'],
    ['three garbage segments', 'abc.def.ghi', 'token_malformed'],
    ['a JSON header that is not an object', `${b64(1)}.${b64({})}.sig`, 'token_malformed'],
  ])('refuses %s with 401', async (_name, token, reason) => {
    expect(await call(`Bearer ${token}`)).toMatchObject({ ok: false, status: 401, body: { reason } });
  });

  it('refuses a truncated token', async () => {
    const token = await transmitter.issuer.token();
    for (const cut of [10, token.indexOf('.') + 5, token.lastIndexOf('.') + 1, token.length - 3]) {
      const decision = await call(`Bearer ${token.slice(0, cut)}`);
      expect(decision).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('refuses an oversized token before parsing it', async () => {
    expect(await call(`Bearer ${'a'.repeat(20_000)}`)).toMatchObject({
      status: 401,
      body: { reason: 'token_too_large' },
    });
  });

  it('refuses alg none', async () => {
    const claims = { iss: transmitter.url, aud: 'api://test', sub: 'x', iat: now(), exp: now() + 600 };
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    expect(await call(`Bearer ${token}`)).toMatchObject({
      status: 401,
      body: { reason: 'algorithm_not_allowed' },
    });
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const publicKey = await importJWK(transmitter.issuer.key.publicJwk, 'RS256');
    const pem = await exportSPKI(publicKey as CryptoKey);
    const token = await new SignJWT({ sub: 'attacker' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: transmitter.issuer.key.kid })
      .setIssuer(transmitter.url)
      .setAudience('api://test')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(pem));
    expect(await call(`Bearer ${token}`)).toMatchObject({
      status: 401,
      body: { reason: 'algorithm_not_allowed' },
    });
  });

  it('refuses an unknown kid, a wrong audience, a wrong issuer and an expired token', async () => {
    const issuer = transmitter.issuer;
    const unknownKid = await issuer.token();
    const [h, p, s] = unknownKid.split('.');
    const header = { ...JSON.parse(Buffer.from(h!, 'base64url').toString()), kid: 'no-such-key' };
    expect(await call(`Bearer ${b64(header)}.${p}.${s}`)).toMatchObject({ status: 401 });
    expect(await call(`Bearer ${await issuer.token({}, { audience: 'api://other' })}`)).toMatchObject({
      body: { reason: 'invalid_audience' },
    });
    const foreign = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: issuer.key.kid })
      .setIssuer('https://evil.example')
      .setAudience('api://test')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(issuer.key.privateKey);
    expect(await call(`Bearer ${foreign}`)).toMatchObject({
      body: { reason: 'invalid_issuer' },
    });
    expect(await call(`Bearer ${await issuer.token({}, { iat: now() - 7200 })}`)).toMatchObject({
      body: { reason: 'token_expired' },
    });
  });

  it('never throws and never answers 5xx for arbitrary Authorization headers (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (header) => {
        const decision = await call(header);
        expect(decision.ok).toBe(false);
        if (!decision.ok) expect([400, 401]).toContain(decision.status);
      }),
      { numRuns: 300 },
    );
  });

  it('never accepts JWT-shaped garbage (property)', async () => {
    const segment = fc
      .base64String({ maxLength: 200 })
      .map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
    const header = fc.record({
      alg: fc.constantFrom('RS256', 'ES256', 'none', 'HS256', 'PS256'),
      typ: fc.constantFrom('at+jwt', 'JWT'),
    });
    await fc.assert(
      fc.asyncProperty(header, fc.jsonValue(), segment, async (h, payload, signature) => {
        const decision = await call(`Bearer ${b64(h)}.${b64(payload)}.${signature}`);
        expect(decision).toMatchObject({ ok: false, status: 401 });
      }),
      { numRuns: 200 },
    );
  });
});

describe('bad pushes', () => {
  const push = (body: string | undefined, authorization = PUSH_AUTH) =>
    receiver.handlePush({ headers: { authorization, 'content-type': 'application/secevent+jwt' }, body });

  it('refuses garbage bodies with 400 invalid_request (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 500 }), async (body) => {
        const response = await push(body);
        expect(response.status).toBe(400);
        expect(JSON.parse(response.body!)).toMatchObject({
          err: expect.any(String),
          description: expect.any(String),
        });
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a replayed SET once and ignores the replay', async () => {
    const t = now();
    const jwt = await transmitter.sign(
      CAEP.sessionRevoked,
      { event_timestamp: t },
      { format: 'opaque', id: 'u-replay' },
    );
    expect((await push(jwt)).status).toBe(202);
    expect((await push(jwt)).status).toBe(202);
    expect(receiver.health().duplicatesIgnored).toBe(1);
    expect(store.revokedBefore('p:u-replay')).toBe(t);
  });

  it('refuses a SET with a wrong or missing push secret, whatever its length', async () => {
    const jwt = await transmitter.sign(CAEP.sessionRevoked, {}, { format: 'opaque', id: 'u' });
    for (const authorization of ['', 'Bearer', PUSH_AUTH.slice(0, -1), `${PUSH_AUTH}x`, 'x'.repeat(5000)]) {
      expect((await push(jwt, authorization)).status).toBe(401);
    }
  });
});
