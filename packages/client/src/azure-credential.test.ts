import { encodeClaims, revocationClaims } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import { FakeClock, FakeIssuer, ISSUER } from '../test/fake-issuer.js';
import { OpenCaeClient, type TokenCredential } from './index.js';

function setup() {
  const clock = new FakeClock();
  const issuer = new FakeIssuer(clock);
  issuer.expiresIn = 86_400;
  issuer.refreshIn = 43_200;
  const client = new OpenCaeClient({
    issuer: ISSUER,
    clientId: 'app',
    clientSecret: 's',
    fetch: issuer.fetch,
    clock,
  });
  return { clock, issuer, client };
}

describe('Azure SDK TokenCredential shape', () => {
  it('returns token, expiresOnTimestamp, refreshAfterTimestamp and tokenType', async () => {
    const { client, clock } = setup();
    const credential: TokenCredential = client;
    const token = await credential.getToken('https://graph.test/.default');
    expect(token).toEqual({
      token: expect.stringMatching(/^ey/),
      expiresOnTimestamp: clock.now() + 86_400_000,
      refreshAfterTimestamp: clock.now() + 43_200_000,
      tokenType: 'Bearer',
    });
  });

  it('caches by scopes (string or array)', async () => {
    const { client, issuer } = setup();
    const a = await client.getToken(['https://graph.test/.default']);
    const b = await client.getToken('https://graph.test/.default');
    expect(b.token).toBe(a.token);
    expect(issuer.tokenRequests).toHaveLength(1);
    expect(issuer.tokenRequests[0]!.form!.get('scope')).toBe('https://graph.test/.default');
  });

  it('claims (base64, as Azure passes a challenge) bypass the cache and are merged with cp1', async () => {
    const { client, issuer } = setup();
    const first = await client.getToken('s');
    const claims = revocationClaims(1_700_000_000, '10.0.0.1');
    const renewed = await client.getToken('s', { claims: encodeClaims(claims), enableCae: true });
    expect(renewed.token).not.toBe(first.token);
    expect(issuer.claimsOf(1)).toEqual({
      access_token: { ...claims.access_token, xms_cc: { values: ['cp1'] } },
    });
    // and the renewed token is what the cache serves next
    expect((await client.getToken('s')).token).toBe(renewed.token);
  });

  it('claims as JSON text are accepted; garbage claims are a typed error', async () => {
    const { client, issuer } = setup();
    await client.getToken('s', { claims: JSON.stringify(revocationClaims(1)) });
    expect(issuer.claimsOf(0)).toMatchObject({ access_token: { nbf: { value: '1' } } });
    await expect(client.getToken('s', { claims: '%%%not-base64%%%' })).rejects.toMatchObject({
      code: 'ERR_CLAIMS_MALFORMED',
    });
  });

  it('enableCae: false requests without cp1, cached apart from CAE tokens', async () => {
    const { client, issuer } = setup();
    await client.getToken('s', { enableCae: false });
    await client.getToken('s', { enableCae: true });
    expect(issuer.tokenRequests[0]!.form!.has('claims')).toBe(false);
    expect(issuer.claimsOf(1)).toEqual({ access_token: { xms_cc: { values: ['cp1'] } } });
  });

  it('enableCae: true adds cp1 even to a client created with capabilities: []', async () => {
    const clock = new FakeClock();
    const issuer = new FakeIssuer(clock);
    const client = new OpenCaeClient({
      issuer: ISSUER,
      clientId: 'app',
      clientSecret: 's',
      capabilities: [],
      fetch: issuer.fetch,
      clock,
    });
    await client.getToken('s', { enableCae: true });
    expect(issuer.claimsOf(0)).toEqual({ access_token: { xms_cc: { values: ['cp1'] } } });
  });

  it('honours abortSignal', async () => {
    const { client } = setup();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(client.getToken('s', { abortSignal: controller.signal })).rejects.toThrow('stop');
  });
});
