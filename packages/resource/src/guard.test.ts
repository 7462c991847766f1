import { parseClaimsChallenge, parseWwwAuthenticate } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIssuer } from '../test/support/fake-issuer.js';
import { ResourceConfigError } from './errors.js';
import { createResourceGuard, type ResourceGuard } from './guard.js';
import type { LocationEnforcer } from './location.js';
import type { ResourceOptions } from './options.js';

let issuer: FakeIssuer;
const guards: ResourceGuard[] = [];
beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await Promise.all(guards.map((g) => g.close()));
  await issuer.close();
});

function guard(options: Partial<ResourceOptions> = {}): ResourceGuard {
  const g = createResourceGuard({ issuer: issuer.url, audience: 'api://test', ...options });
  guards.push(g);
  return g;
}

const bearer = (token: string) => ({
  headers: { authorization: `Bearer ${token}` },
  remoteAddress: '203.0.113.7',
});
const now = () => Math.floor(Date.now() / 1000);

describe('verifyRequest', () => {
  it('accepts a valid token and returns its claims and the client IP', async () => {
    const decision = await guard().verifyRequest(bearer(await issuer.token()));
    expect(decision).toMatchObject({ ok: true, claims: { sub: 'user-1' }, clientIp: '203.0.113.7' });
  });

  it('answers a request without a token with a bare Bearer challenge', async () => {
    const decision = await guard().verifyRequest({ headers: {} });
    expect(decision).toMatchObject({ ok: false, status: 401, body: { reason: 'missing_token' } });
    if (!decision.ok) expect(decision.headers['www-authenticate']).toBe('Bearer realm=""');
  });

  it('challenges a CAE-capable token issued before a revocation with the nbf claims challenge', async () => {
    const g = guard();
    const token = await issuer.token({}, { iat: now() - 60 });
    expect((await g.verifyRequest(bearer(token))).ok).toBe(true);
    const revokedAt = now() - 30;
    await g.store.apply([{ key: 'p:user-1', at: revokedAt, revokeBefore: revokedAt }]);
    const decision = await g.verifyRequest(bearer(token));
    expect(decision).toMatchObject({
      ok: false,
      status: 401,
      body: { error: 'insufficient_claims', reason: 'token_revoked' },
    });
    if (decision.ok) return;
    const challenge = parseClaimsChallenge(decision.headers['www-authenticate']);
    expect(challenge?.claims).toEqual({
      access_token: { nbf: { essential: true, value: String(revokedAt) } },
    });
    expect(challenge?.authorizationUri).toBe(`${issuer.url}/authorize`);
    expect(challenge?.error).toBe('insufficient_claims');
    // The issuer answers the challenge with iat >= nbf + 1: that token is accepted.
    expect((await g.verifyRequest(bearer(await issuer.token({}, { iat: revokedAt + 1 })))).ok).toBe(true);
  });

  it('gives a token without cp1 a plain RFC 6750 invalid_token', async () => {
    const g = guard();
    const token = await issuer.token({ xms_cc: undefined }, { iat: now() - 60 });
    await g.store.apply([{ key: 's:session-1', at: now(), revokeBefore: now() }]);
    const decision = await g.verifyRequest(bearer(token));
    expect(decision).toMatchObject({
      ok: false,
      status: 401,
      body: { error: 'invalid_token', reason: 'session_revoked' },
    });
    if (decision.ok) return;
    const [challenge] = parseWwwAuthenticate(decision.headers['www-authenticate']);
    expect(challenge?.params).toMatchObject({ error: 'invalid_token' });
    expect(challenge?.params.claims).toBeUndefined();
  });

  it('refuses every token of a disabled account, then accepts fresh ones once enabled', async () => {
    const g = guard();
    const t = now();
    await g.store.apply([{ key: 'p:user-1', at: t - 10, disabled: true, revokeBefore: t - 10 }]);
    const fresh = await issuer.token({}, { iat: t });
    expect(await g.verifyRequest(bearer(fresh))).toMatchObject({
      ok: false,
      body: { reason: 'account_disabled' },
    });
    await g.store.apply([{ key: 'p:user-1', at: t - 5, disabled: false }]);
    expect((await g.verifyRequest(bearer(fresh))).ok).toBe(true);
    const old = await issuer.token({}, { iat: t - 20 });
    expect(await g.verifyRequest(bearer(old))).toMatchObject({
      ok: false,
      body: { reason: 'token_revoked' },
    });
  });

  it('revokes a token issued in the same second as the revocation, and accepts one issued after it', async () => {
    const g = guard();
    const t = now();
    await g.store.apply([{ key: 'p:user-1', at: t, revokeBefore: t }]);
    const sameSecond = await issuer.token({}, { iat: t });
    expect(await g.verifyRequest(bearer(sameSecond))).toMatchObject({
      ok: false,
      body: { reason: 'token_revoked' },
    });
    const after = await issuer.token({}, { iat: t + 1 });
    expect((await g.verifyRequest(bearer(after))).ok).toBe(true);
  });

  it("revokes an application's own tokens by client id, not users' tokens obtained through it", async () => {
    const g = guard();
    await g.store.apply([{ key: 'p:daemon', at: now(), disabled: true, revokeBefore: now() }]);
    const appToken = await issuer.token({
      sub: 'sp-1',
      oid: 'sp-1',
      azp: 'daemon',
      idtyp: 'app',
      sid: undefined,
    });
    expect(await g.verifyRequest(bearer(appToken))).toMatchObject({
      ok: false,
      body: { reason: 'account_disabled' },
    });
    expect((await g.verifyRequest(bearer(await issuer.token({ azp: 'daemon' })))).ok).toBe(true);
  });

  it('checks required scopes, roles and custom claim checks with 403 insufficient_scope', async () => {
    const token = await issuer.token({ scp: 'read', roles: ['Reader'] });
    const denied = await guard({ requiredScopes: ['write'] }).verifyRequest(bearer(token));
    expect(denied).toMatchObject({ ok: false, status: 403, body: { reason: 'insufficient_scope' } });
    if (!denied.ok)
      expect(parseWwwAuthenticate(denied.headers['www-authenticate'])[0]?.params.scope).toBe('write');
    expect((await guard({ requiredScopes: ['read'] }).verifyRequest(bearer(token))).ok).toBe(true);
    expect(
      (await guard({ requiredScopes: ['write'], requiredRoles: ['Reader'] }).verifyRequest(bearer(token))).ok,
    ).toBe(true);
    const checked = guard({ claimChecks: [(c) => c.tid === 'other' || 'wrong tenant'] });
    expect(await checked.verifyRequest(bearer(token))).toMatchObject({
      ok: false,
      status: 403,
      body: { error_description: 'wrong tenant' },
    });
  });

  it('runs the location hook on every request and challenges with xms_rp_ipaddr', async () => {
    const seen: (string | undefined)[] = [];
    const location: LocationEnforcer = {
      check(_claims, clientIp) {
        seen.push(clientIp);
        return clientIp === '198.51.100.1'
          ? { allowed: true }
          : { allowed: false, reason: 'outside allowed network' };
      },
    };
    const g = guard({ location, trustedProxies: ['10.0.0.0/8'] });
    const token = await issuer.token();
    const viaProxy = (xff: string) => ({
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': xff },
    });
    expect((await g.verifyRequest({ ...viaProxy('198.51.100.1'), remoteAddress: '10.1.2.3' })).ok).toBe(true);
    const blocked = await g.verifyRequest({ ...viaProxy('192.0.2.9'), remoteAddress: '10.1.2.3' });
    expect(blocked).toMatchObject({ ok: false, status: 401, body: { reason: 'location_blocked' } });
    if (!blocked.ok) {
      const claims = parseClaimsChallenge(blocked.headers['www-authenticate'])?.claims;
      expect(claims?.access_token).toMatchObject({ xms_rp_ipaddr: { value: '192.0.2.9' } });
    }
    // A spoofed header from a peer that is not a trusted proxy cannot claim an allowed address.
    const spoofed = await g.verifyRequest({ ...viaProxy('198.51.100.1'), remoteAddress: '192.0.2.66' });
    expect(spoofed).toMatchObject({ ok: false, body: { reason: 'location_blocked' } });
    expect(seen).toEqual(['198.51.100.1', '192.0.2.9', '192.0.2.66']);
  });

  it('validates options once, at creation, with a readable error', () => {
    expect(() => createResourceGuard({ issuer: 'not a url', audience: '' })).toThrow(ResourceConfigError);
    expect(() =>
      createResourceGuard({ issuer: 'https://id.example', audience: 'a', algorithms: ['HS256' as 'RS256'] }),
    ).toThrow(/algorithms/);
    expect(() =>
      createResourceGuard({ issuer: 'https://id.example', audience: 'a', trustedProxies: ['nonsense'] }),
    ).toThrow(/trustedProxies/);
    expect(() =>
      createResourceGuard({ issuer: 'https://id.example', audience: 'a', extra: 1 } as never),
    ).toThrow(/extra/);
  });
});
