import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { SetBuildError, SetVerificationError } from './errors.js';
import { CAEP, RISC } from './events.js';
import { buildSet, SET_TYP, signSet, verifySet } from './set.js';
import type { SubjectIdentifier } from './subject.js';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'https://api.example.com';
const subject: SubjectIdentifier = { format: 'iss_sub', iss: ISSUER, sub: 'user-1' };

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let ec: KeyPair;
let otherRsa: KeyPair;

beforeAll(async () => {
  [rsa, ec, otherRsa] = await Promise.all([
    generateKeyPair('RS256', { modulusLength: 2048 }),
    generateKeyPair('ES256'),
    generateKeyPair('RS256', { modulusLength: 2048 }),
  ]);
});

function sessionRevoked(overrides: Partial<Parameters<typeof buildSet>[0]> = {}) {
  return buildSet({
    issuer: ISSUER,
    audience: AUDIENCE,
    subject,
    eventType: CAEP.sessionRevoked,
    event: { event_timestamp: 1_700_000_000, initiating_entity: 'admin' },
    txn: 'txn-1',
    ...overrides,
  });
}

/** Signs arbitrary header + payload, for SETs that signSet rightly refuses to produce. */
function signRaw(header: Record<string, unknown>, payload: unknown, key: CryptoKey = rsa.privateKey) {
  return new CompactSign(
    new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  )
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

async function failure(promise: Promise<unknown>): Promise<SetVerificationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SetVerificationError);
    return error as SetVerificationError;
  }
  throw new Error('expected verifySet to fail');
}

const verifyOptions = () => ({ key: rsa.publicKey, issuer: ISSUER, audience: AUDIENCE });

describe('buildSet', () => {
  it('builds an SSF SET payload with defaults for jti and iat', () => {
    const before = Math.floor(Date.now() / 1000);
    const payload = sessionRevoked();
    expect(payload).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      txn: 'txn-1',
      sub_id: subject,
      events: { [CAEP.sessionRevoked]: { event_timestamp: 1_700_000_000, initiating_entity: 'admin' } },
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload).not.toHaveProperty('sub');
    expect(payload).not.toHaveProperty('exp');
    expect(sessionRevoked({ jti: 'j', iat: 5 })).toMatchObject({ jti: 'j', iat: 5 });
  });

  it('refuses an invalid subject, an empty audience and an invalid known event', () => {
    expect(() => sessionRevoked({ subject: { format: 'email' } as unknown as SubjectIdentifier })).toThrow(
      SetBuildError,
    );
    expect(() => sessionRevoked({ audience: [] })).toThrow(SetBuildError);
    expect(() =>
      sessionRevoked({ eventType: CAEP.credentialChange, event: { credential_type: 'password' } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_EVENT_INVALID' }));
  });
});

describe('signSet / verifySet round trip', () => {
  it.each(['RS256', 'ES256'] as const)('signs and verifies %s', async (alg) => {
    const keys = alg === 'RS256' ? rsa : ec;
    const payload = sessionRevoked();
    const jwt = await signSet(payload, keys.privateKey, { alg, kid: 'k1' });
    const verified = await verifySet(jwt, { key: keys.publicKey, issuer: ISSUER, audience: AUDIENCE });
    expect(verified).toEqual({
      payload,
      eventType: CAEP.sessionRevoked,
      event: payload.events[CAEP.sessionRevoked],
      known: true,
      header: { alg, kid: 'k1', typ: SET_TYP },
    });
  });

  it('verifies through a key set selected by kid, with an audience array', async () => {
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' };
    const jwt = await signSet(sessionRevoked({ audience: ['other', AUDIENCE] }), ec.privateKey, {
      alg: 'ES256',
      kid: 'ec-1',
    });
    const verified = await verifySet(jwt, {
      key: createLocalJWKSet({ keys: [jwk] }),
      issuer: ISSUER,
      audience: [AUDIENCE, 'https://second.example.com'],
    });
    expect(verified.header.kid).toBe('ec-1');
  });

  it('reports unknown event types as known: false and keeps unknown members of known ones', async () => {
    const unknown = await signSet(
      sessionRevoked({ eventType: 'https://example.com/event/x', event: { anything: 1 } }),
      rsa.privateKey,
      { alg: 'RS256' },
    );
    expect(await verifySet(unknown, verifyOptions())).toMatchObject({ known: false, event: { anything: 1 } });
    const extra = await signSet(
      sessionRevoked({ eventType: RISC.accountDisabled, event: { reason: 'hijacking', vendor_x: true } }),
      rsa.privateKey,
      { alg: 'RS256' },
    );
    expect((await verifySet(extra, verifyOptions())).event).toEqual({ reason: 'hijacking', vendor_x: true });
  });
});

describe('signSet refuses', () => {
  it('an RSA key under 2048 bits', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await expect(signSet(sessionRevoked(), privateKey, { alg: 'RS256' })).rejects.toMatchObject({
      code: 'ERR_SET_KEY_UNSUITABLE',
    });
  });

  it('a shared secret, an algorithm outside RS256/ES256, and a key of the wrong type', async () => {
    await expect(signSet(sessionRevoked(), new Uint8Array(32), { alg: 'RS256' })).rejects.toBeInstanceOf(
      SetBuildError,
    );
    await expect(
      signSet(sessionRevoked(), rsa.privateKey, { alg: 'HS256' as unknown as 'RS256' }),
    ).rejects.toMatchObject({ code: 'ERR_SET_KEY_UNSUITABLE' });
    await expect(signSet(sessionRevoked(), rsa.privateKey, { alg: 'ES256' })).rejects.toMatchObject({
      code: 'ERR_SET_KEY_UNSUITABLE',
    });
  });

  it('a payload with sub, exp or two events', async () => {
    const base = sessionRevoked();
    for (const bad of [
      { ...base, sub: 'user-1' },
      { ...base, exp: base.iat + 60 },
      { ...base, events: { ...base.events, [CAEP.credentialChange]: {} } },
    ]) {
      await expect(signSet(bad, rsa.privateKey, { alg: 'RS256' })).rejects.toMatchObject({
        code: 'ERR_SET_INVALID',
      });
    }
  });
});

describe('verifySet failures, one by one', () => {
  const header = { alg: 'RS256', typ: SET_TYP };

  it('invalid_key: signature made with another key', async () => {
    const jwt = await signSet(sessionRevoked(), otherRsa.privateKey, { alg: 'RS256' });
    const error = await failure(verifySet(jwt, verifyOptions()));
    expect(error.code).toBe('invalid_key');
    expect(error.description).toMatch(/signature/);
  });

  it('invalid_key: tampered payload', async () => {
    const jwt = await signSet(sessionRevoked(), rsa.privateKey, { alg: 'RS256' });
    const [h, , s] = jwt.split('.');
    const forged = Buffer.from(JSON.stringify({ ...sessionRevoked(), iss: ISSUER })).toString('base64url');
    expect((await failure(verifySet(`${h}.${forged}.${s}`, verifyOptions()))).code).toBe('invalid_key');
  });

  it('invalid_key: kid not in the key set', async () => {
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'known', alg: 'RS256' };
    const jwt = await signSet(sessionRevoked(), rsa.privateKey, { alg: 'RS256', kid: 'unknown' });
    const error = await failure(
      verifySet(jwt, { key: createLocalJWKSet({ keys: [jwk] }), issuer: ISSUER, audience: AUDIENCE }),
    );
    expect(error.code).toBe('invalid_key');
    expect(error.description).toMatch(/kid "unknown"/);
  });

  it('invalid_key: algorithm not in the allow-list', async () => {
    const jwt = await signSet(sessionRevoked(), ec.privateKey, { alg: 'ES256' });
    const error = await failure(
      verifySet(jwt, { ...verifyOptions(), key: ec.publicKey, algorithms: ['RS256'] }),
    );
    expect(error.code).toBe('invalid_key');
  });

  it('invalid_key: HS256 and none are never accepted', async () => {
    const secret = new Uint8Array(32).fill(7);
    const hs = await new CompactSign(new TextEncoder().encode(JSON.stringify(sessionRevoked())))
      .setProtectedHeader({ alg: 'HS256', typ: SET_TYP })
      .sign(secret);
    expect((await failure(verifySet(hs, verifyOptions()))).code).toBe('invalid_key');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: SET_TYP })).toString('base64url')}.${Buffer.from(
      JSON.stringify(sessionRevoked()),
    ).toString('base64url')}.`;
    expect((await failure(verifySet(none, verifyOptions()))).code).toBe('invalid_key');
  });

  it('invalid_key: header says ES256 but the key is RSA', async () => {
    const jwt = await signSet(sessionRevoked(), ec.privateKey, { alg: 'ES256' });
    expect((await failure(verifySet(jwt, verifyOptions()))).code).toBe('invalid_key');
  });

  it('invalid_key: RS256 signed with a 1024-bit key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${encode(header)}.${encode(sessionRevoked())}`;
    const jwt = `${input}.${nodeSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    expect((await failure(verifySet(jwt, { ...verifyOptions(), key: publicKey }))).code).toBe('invalid_key');
  });

  it('invalid_issuer: another issuer, or none', async () => {
    const jwt = await signSet(sessionRevoked({ issuer: 'https://evil.example.com' }), rsa.privateKey, {
      alg: 'RS256',
    });
    expect((await failure(verifySet(jwt, verifyOptions()))).code).toBe('invalid_issuer');
    const { iss: _iss, ...withoutIss } = sessionRevoked();
    expect((await failure(verifySet(await signRaw(header, withoutIss), verifyOptions()))).code).toBe(
      'invalid_issuer',
    );
  });

  it('invalid_audience: another audience, or none', async () => {
    const jwt = await signSet(sessionRevoked({ audience: ['https://other.example.com'] }), rsa.privateKey, {
      alg: 'RS256',
    });
    expect((await failure(verifySet(jwt, verifyOptions()))).code).toBe('invalid_audience');
    const { aud: _aud, ...withoutAud } = sessionRevoked();
    expect((await failure(verifySet(await signRaw(header, withoutAud), verifyOptions()))).code).toBe(
      'invalid_audience',
    );
  });

  const malformed: [string, () => Promise<string> | string][] = [
    ['not a JWS', () => 'not-a-jwt'],
    ['an empty string', () => ''],
    ['five segments (JWE)', () => 'a.b.c.d.e'],
    ['an undecodable header', () => '%%%.e30.sig'],
    ['typ missing', () => signRaw({ alg: 'RS256' }, sessionRevoked())],
    ['typ JWT', () => signRaw({ alg: 'RS256', typ: 'JWT' }, sessionRevoked())],
    ['a payload that is not JSON', () => signRaw(header, 'not json')],
    ['a payload that is a JSON array', () => signRaw(header, [1])],
    ['a sub claim', () => signRaw(header, { ...sessionRevoked(), sub: 'user-1' })],
    ['an exp claim', () => signRaw(header, { ...sessionRevoked(), exp: 2_000_000_000 })],
    ['no sub_id', () => signRaw(header, { ...sessionRevoked(), sub_id: undefined })],
    ['an invalid sub_id', () => signRaw(header, { ...sessionRevoked(), sub_id: { format: 'email' } })],
    ['no events', () => signRaw(header, { ...sessionRevoked(), events: {} })],
    [
      'two events',
      () =>
        signRaw(header, {
          ...sessionRevoked(),
          events: { [CAEP.sessionRevoked]: {}, [RISC.accountDisabled]: {} },
        }),
    ],
    [
      'an event body that is not an object',
      () => signRaw(header, { ...sessionRevoked(), events: { x: 'y' } }),
    ],
    [
      'a known event with a wrong body',
      () =>
        signRaw(header, {
          ...sessionRevoked(),
          events: { [CAEP.credentialChange]: { change_type: 'bogus' } },
        }),
    ],
    ['no jti', () => signRaw(header, { ...sessionRevoked(), jti: undefined })],
    ['no iat', () => signRaw(header, { ...sessionRevoked(), iat: undefined })],
    [
      'iat far in the future',
      () => signRaw(header, { ...sessionRevoked(), iat: Math.floor(Date.now() / 1000) + 3600 }),
    ],
    ['a non-string txn', () => signRaw(header, { ...sessionRevoked(), txn: 5 })],
    ['a non-string iss', () => signRaw(header, { ...sessionRevoked(), iss: 5 })],
    ['a non-string aud member', () => signRaw(header, { ...sessionRevoked(), aud: [AUDIENCE, 5] })],
    ['a token over 64 KiB', () => 'a'.repeat(70_000)],
  ];
  it.each(malformed)('invalid_request: %s', async (_name, make) => {
    const error = await failure(verifySet(await make(), verifyOptions()));
    expect(error.code).toBe('invalid_request');
    expect(error.description.length).toBeGreaterThan(0);
  });

  it('accepts typ "application/secevent+jwt" (RFC 7515 §4.1.9)', async () => {
    const jwt = await signRaw({ alg: 'RS256', typ: 'application/secevent+jwt' }, sessionRevoked());
    expect((await verifySet(jwt, verifyOptions())).header.typ).toBe('application/secevent+jwt');
  });

  it('rethrows, unchanged, an error from a key resolver that could not run', async () => {
    const jwt = await signSet(sessionRevoked(), rsa.privateKey, { alg: 'RS256' });
    const outage = new Error('JWKS endpoint unreachable');
    await expect(
      verifySet(jwt, {
        key: async () => {
          throw outage;
        },
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    ).rejects.toBe(outage);
  });
});

describe('verifySet on arbitrary input', () => {
  it('rejects any string with a SetVerificationError, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('a', '.', '-', '_', 'e', 'y', 'J') })),
        async (jwt) => {
          await expect(verifySet(jwt, verifyOptions())).rejects.toBeInstanceOf(SetVerificationError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('either accepts or rejects with a SetVerificationError any signed JSON payload', async () => {
    const base = sessionRevoked();
    const payloads = fc.oneof(
      fc.jsonValue(),
      fc.record({
        iss: fc.oneof(fc.constant(ISSUER), fc.jsonValue()),
        aud: fc.oneof(fc.constant(AUDIENCE), fc.jsonValue()),
        iat: fc.oneof(fc.constant(base.iat), fc.jsonValue()),
        jti: fc.oneof(fc.constant(base.jti), fc.jsonValue()),
        sub_id: fc.oneof(fc.constant(base.sub_id), fc.jsonValue()),
        events: fc.oneof(
          fc.constant(base.events),
          fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }),
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(payloads, async (payload) => {
        const jwt = await signRaw({ alg: 'ES256', typ: SET_TYP }, payload, ec.privateKey);
        try {
          const verified = await verifySet(jwt, { key: ec.publicKey, issuer: ISSUER, audience: AUDIENCE });
          expect(verified.payload.iss).toBe(ISSUER);
          expect(Object.keys(verified.payload.events)).toHaveLength(1);
        } catch (error) {
          expect(error).toBeInstanceOf(SetVerificationError);
        }
      }),
      { numRuns: 200 },
    );
  });
});
