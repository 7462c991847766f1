import { generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { API, FakeClock, FakeIssuer, ISSUER, json, oauthError } from '../test/fake-issuer.js';
import { OpenCaeClient, type OpenCaeClientOptions } from './index.js';

function setup(options: Partial<OpenCaeClientOptions> = {}) {
  const clock = new FakeClock();
  const issuer = new FakeIssuer(clock);
  const client = new OpenCaeClient({
    issuer: ISSUER,
    clientId: 'daemon-1',
    clientSecret: 's3cret',
    scopes: 'api://orders/.default',
    fetch: issuer.fetch,
    clock,
    ...options,
  });
  return { clock, issuer, client };
}

describe('discovery', () => {
  it('discovers the issuer metadata once and uses its token endpoint', async () => {
    const { issuer, client } = setup();
    await Promise.all([client.getAccessToken(), client.getAccessToken({ scopes: 'other' })]);
    const discoveries = issuer.requests.filter((r) => r.url.pathname.startsWith('/.well-known/'));
    expect(discoveries.map((r) => r.url.pathname)).toEqual(['/.well-known/openid-configuration']);
    expect(issuer.tokenRequests).toHaveLength(2);
  });

  it('falls back to RFC 8414 metadata when there is no OIDC configuration', async () => {
    const { issuer, client } = setup();
    issuer.discoveryResponder = (url) =>
      url.pathname === '/.well-known/oauth-authorization-server'
        ? json(issuer.metadata)
        : new Response('', { status: 404 });
    await client.getAccessToken();
    expect(issuer.tokenRequests).toHaveLength(1);
  });

  it('reports a failed discovery as DiscoveryError and tries again on the next call', async () => {
    const { issuer, client } = setup();
    issuer.discoveryResponder = () => json({ ...issuer.metadata, issuer: 'https://evil.test' });
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_DISCOVERY_FAILED' });
    issuer.discoveryResponder = () => json(issuer.metadata);
    await expect(client.getAccessToken()).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('refuses plain http to a non-loopback issuer, allows it for localhost', () => {
    expect(
      () => new OpenCaeClient({ issuer: 'http://issuer.test', clientId: 'c', clientSecret: 's' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_CONFIG' }));
    expect(
      () => new OpenCaeClient({ issuer: 'http://127.0.0.1:3000', clientId: 'c', clientSecret: 's' }),
    ).not.toThrow();
  });
});

describe('client credentials', () => {
  it('authenticates with client_secret_basic by default', async () => {
    const { issuer, client } = setup();
    await client.getAccessToken();
    const request = issuer.tokenRequests[0]!;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64
    const basic = request.headers.get('authorization')!.replace(/^Basic /, '');
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual(['daemon-1', 's3cret']);
    expect(request.form?.get('grant_type')).toBe('client_credentials');
    expect(request.form?.get('client_secret')).toBeNull();
    expect(request.form?.get('scope')).toBe('api://orders/.default');
  });

  it('authenticates with client_secret_post', async () => {
    const { issuer, client } = setup({ clientAuthentication: 'client_secret_post' });
    await client.getAccessToken();
    const request = issuer.tokenRequests[0]!;
    expect(request.headers.get('authorization')).toBeNull();
    expect(request.form?.get('client_id')).toBe('daemon-1');
    expect(request.form?.get('client_secret')).toBe('s3cret');
  });

  it('authenticates with private_key_jwt', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const { issuer, client } = setup({ clientSecret: undefined, privateKey: { key: privateKey, kid: 'k1' } });
    await client.getAccessToken();
    const form = issuer.tokenRequests[0]!.form!;
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion')!, publicKey, {
      issuer: 'daemon-1',
      subject: 'daemon-1',
      currentDate: new Date(),
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'k1' });
    expect(payload.aud).toBeTruthy();
    expect(payload.jti).toBeTruthy();
  });

  it('sends Entra-style scopes and RFC 8707 resource indicators', async () => {
    const { issuer, client } = setup({ scopes: undefined });
    await client.getAccessToken({
      scopes: ['api://x/.default'],
      resource: ['https://a.test', 'https://b.test'],
    });
    const form = issuer.tokenRequests[0]!.form!;
    expect(form.get('scope')).toBe('api://x/.default');
    expect(form.getAll('resource')).toEqual(['https://a.test', 'https://b.test']);
  });

  it('refuses to run without scopes or resource', async () => {
    const { client } = setup({ scopes: undefined });
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_CLIENT_CONFIG' });
  });
});

describe('capabilities in the claims parameter', () => {
  it('declares cp1 on every token request by default', async () => {
    const { issuer, client } = setup();
    const token = await client.getAccessToken();
    expect(issuer.claimsOf(0)).toEqual({ access_token: { xms_cc: { values: ['cp1'] } } });
    expect(token.caeCapable).toBe(true);
  });

  it('sends no claims parameter with capabilities: []', async () => {
    const { issuer, client } = setup({ capabilities: [] });
    const token = await client.getAccessToken();
    expect(issuer.tokenRequests[0]!.form!.has('claims')).toBe(false);
    expect(token.caeCapable).toBe(false);
  });

  it("merges the caller's claims with the capability", async () => {
    const { issuer, client } = setup();
    await client.getAccessToken({ claims: { access_token: { acrs: { essential: true, value: 'c1' } } } });
    expect(issuer.claimsOf(0)).toEqual({
      access_token: { acrs: { essential: true, value: 'c1' }, xms_cc: { values: ['cp1'] } },
    });
  });

  it('marks a token without xms_cc as not CAE-capable even when cp1 was declared', async () => {
    const { issuer, client } = setup();
    issuer.tokenResponder = (form) =>
      issuer.issue(new URLSearchParams({ ...Object.fromEntries(form), claims: '' }));
    expect((await client.getAccessToken()).caeCapable).toBe(false);
  });
});

describe('authorization code + PKCE and refresh tokens', () => {
  function userSetup() {
    const ctx = setup({ clientSecret: undefined, flow: 'user', scopes: 'api://orders/read' });
    let serial = 0;
    ctx.issuer.tokenResponder = (form) => {
      if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') !== `rt-${serial}`) {
        return oauthError('invalid_grant', 'refresh token reused');
      }
      serial += 1;
      return ctx.issuer.issue(form, { refresh_token: `rt-${serial}` });
    };
    return ctx;
  }

  it('builds an authorize URL with PKCE S256, state, nonce, resource and the capability', async () => {
    const { client } = userSetup();
    const { url, codeVerifier, state, nonce } = await client.authorizationUrl({
      redirectUri: 'https://app.test/cb',
      resource: 'https://api.test',
    });
    expect(url.origin + url.pathname).toBe(`${ISSUER}/authorize`);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('daemon-1');
    expect(q.get('scope')).toBe('api://orders/read openid offline_access');
    expect(q.get('state')).toBe(state);
    expect(q.get('nonce')).toBe(nonce);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).not.toBe(codeVerifier);
    expect(q.get('resource')).toBe('https://api.test');
    expect(JSON.parse(q.get('claims')!)).toEqual({ access_token: { xms_cc: { values: ['cp1'] } } });
  });

  it('exchanges the code, then refreshes with rotation, storing each new refresh token', async () => {
    const { issuer, client } = userSetup();
    const auth = await client.authorizationUrl({
      redirectUri: 'https://app.test/cb',
      scopes: 'api://orders/read',
    });
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_NOT_SIGNED_IN' });
    const first = await client.signInWithAuthorizationCode({
      callback: `https://app.test/cb?code=c0de&state=${auth.state}`,
      redirectUri: 'https://app.test/cb',
      codeVerifier: auth.codeVerifier,
      state: auth.state,
    });
    const exchange = issuer.tokenRequests[0]!.form!;
    expect(exchange.get('grant_type')).toBe('authorization_code');
    expect(exchange.get('code_verifier')).toBe(auth.codeVerifier);
    // the code's token is cached for the scopes
    expect((await client.getAccessToken()).token).toBe(first.token);

    await client.getAccessToken({ scopes: 'api://billing/read' });
    await client.getAccessToken({ scopes: 'api://shipping/read' });
    const refreshes = issuer.tokenRequests.slice(1).map((r) => r.form!);
    expect(refreshes.map((f) => f.get('grant_type'))).toEqual(['refresh_token', 'refresh_token']);
    expect(refreshes.map((f) => f.get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
    expect(refreshes[0]!.get('scope')).toBe('api://billing/read');
    expect(JSON.parse(refreshes[0]!.get('claims')!)).toEqual({
      access_token: { xms_cc: { values: ['cp1'] } },
    });
  });

  it('serializes concurrent refresh grants so a rotated refresh token is never presented twice', async () => {
    const { client } = userSetup();
    const auth = await client.authorizationUrl({ redirectUri: 'https://app.test/cb' });
    await client.signInWithAuthorizationCode({
      callback: `https://app.test/cb?code=c0de&state=${auth.state}`,
      redirectUri: 'https://app.test/cb',
      codeVerifier: auth.codeVerifier,
      state: auth.state,
    });
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((s) => client.getAccessToken({ scopes: s })));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(4);
  });

  it('forgets the account when the refresh token is rejected (invalid_grant)', async () => {
    const { issuer, client } = userSetup();
    const auth = await client.authorizationUrl({ redirectUri: 'https://app.test/cb' });
    await client.signInWithAuthorizationCode({
      callback: new URLSearchParams({ code: 'c0de', state: auth.state }),
      redirectUri: 'https://app.test/cb',
      codeVerifier: auth.codeVerifier,
      state: auth.state,
    });
    issuer.tokenResponder = () => oauthError('invalid_grant', 'session revoked');
    await expect(client.getAccessToken({ scopes: 'x' })).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_REJECTED',
      error: 'invalid_grant',
    });
    await expect(client.getAccessToken({ scopes: 'y' })).rejects.toMatchObject({ code: 'ERR_NOT_SIGNED_IN' });
  });

  it('rejects a redirect with the wrong state or an error', async () => {
    const { client } = userSetup();
    const auth = await client.authorizationUrl({ redirectUri: 'https://app.test/cb' });
    const base = { redirectUri: 'https://app.test/cb', codeVerifier: auth.codeVerifier, state: auth.state };
    await expect(
      client.signInWithAuthorizationCode({ ...base, callback: 'https://app.test/cb?code=x&state=forged' }),
    ).rejects.toMatchObject({ code: 'ERR_AUTHORIZATION_FAILED' });
    await expect(
      client.signInWithAuthorizationCode({
        ...base,
        callback: `https://app.test/cb?error=access_denied&error_description=no&state=${auth.state}`,
      }),
    ).rejects.toMatchObject({ code: 'ERR_AUTHORIZATION_FAILED', error: 'access_denied' });
  });
});

describe('device authorization grant', () => {
  it('polls at the issued interval, slows down on slow_down, and signs in', async () => {
    const { issuer, client, clock } = setup({ clientSecret: undefined, flow: 'user' });
    const answers = ['authorization_pending', 'slow_down', 'authorization_pending'];
    const polledAt: number[] = [];
    issuer.tokenResponder = (form) => {
      polledAt.push(clock.now());
      const next = answers.shift();
      return next ? oauthError(next) : issuer.issue(form, { refresh_token: 'rt-device' });
    };
    const started = clock.now();
    const signIn = await client.startDeviceSignIn({ scopes: 'api://orders/read' });
    expect(signIn.userCode).toBe('ABCD-EFGH');
    expect(signIn.verificationUri).toBe(`${ISSUER}/device/verify`);
    const device = issuer.requests.find((r) => r.url.pathname === '/device')!;
    expect(JSON.parse(device.form!.get('claims')!)).toEqual({
      access_token: { xms_cc: { values: ['cp1'] } },
    });
    const token = await signIn.complete();
    expect(token.tokenType).toBe('Bearer');
    expect(polledAt.map((t) => (t - started) / 1000)).toEqual([5, 10, 20, 30]);
    expect(issuer.tokenRequests.at(-1)!.form!.get('grant_type')).toBe(
      'urn:ietf:params:oauth:grant-type:device_code',
    );
    // the device sign-in left a usable account
    issuer.tokenResponder = (form) => issuer.issue(form);
    await client.getAccessToken({ scopes: 'other' });
    expect(issuer.tokenRequests.at(-1)!.form!.get('refresh_token')).toBe('rt-device');
  });

  it('fails when the user denies', async () => {
    const { issuer, client } = setup({ clientSecret: undefined, flow: 'user' });
    issuer.tokenResponder = () => oauthError('access_denied');
    const signIn = await client.startDeviceSignIn({ scopes: 'x' });
    await expect(signIn.complete()).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_REJECTED',
      error: 'access_denied',
    });
  });

  it('says so when the issuer does not offer it', async () => {
    const { issuer, client } = setup({ clientSecret: undefined, flow: 'user' });
    delete issuer.metadata.device_authorization_endpoint;
    await expect(client.startDeviceSignIn({ scopes: 'x' })).rejects.toMatchObject({
      code: 'ERR_GRANT_UNSUPPORTED',
    });
  });
});

describe('API', () => {
  it('uses the same transport for API calls', async () => {
    const { issuer, client } = setup();
    const response = await client.fetch(`${API}/orders`);
    expect(await response.text()).toBe('ok');
    expect(issuer.apiRequests[0]!.headers.get('authorization')).toMatch(/^Bearer ey/);
  });
});
