import { describe, expect, it } from 'vitest';
import { FakeClock, FakeIssuer, ISSUER, json, oauthError } from '../test/fake-issuer.js';
import { OpenCaeClient, type OpenCaeClientOptions } from './index.js';

function setup(respond: (issuer: FakeIssuer) => Response, options: Partial<OpenCaeClientOptions> = {}) {
  const clock = new FakeClock();
  const issuer = new FakeIssuer(clock);
  issuer.tokenResponder = () => respond(issuer);
  const client = new OpenCaeClient({
    issuer: ISSUER,
    clientId: 'daemon-1',
    clientSecret: 's3cret',
    scopes: 'api://orders/.default',
    fetch: issuer.fetch,
    clock,
    ...options,
  });
  return client.getAccessToken();
}

const invalid = { code: 'ERR_TOKEN_RESPONSE_INVALID' };

describe('malformed token responses', () => {
  it('missing access_token', async () => {
    await expect(setup(() => json({ token_type: 'Bearer', expires_in: 3600 }))).rejects.toMatchObject(
      invalid,
    );
  });

  it('access_token that is not a string', async () => {
    await expect(setup(() => json({ access_token: 42, token_type: 'Bearer' }))).rejects.toMatchObject(
      invalid,
    );
  });

  it('missing token_type', async () => {
    await expect(setup(() => json({ access_token: 'x', expires_in: 3600 }))).rejects.toMatchObject(invalid);
  });

  it('wrong token_type (unknown, and DPoP which this client does not send)', async () => {
    await expect(
      setup(() => json({ access_token: 'x', token_type: 'mac', expires_in: 3600 })),
    ).rejects.toMatchObject(invalid);
    await expect(
      setup(() => json({ access_token: 'x', token_type: 'DPoP', expires_in: 3600 })),
    ).rejects.toMatchObject({
      ...invalid,
      message: expect.stringContaining('Bearer'),
    });
  });

  it('accepts token_type in any case', async () => {
    await expect(
      setup(() => json({ access_token: 'x', token_type: 'bEaReR', expires_in: 60 })),
    ).resolves.toMatchObject({
      tokenType: 'Bearer',
    });
  });

  it('non-JSON body', async () => {
    await expect(
      setup(() => new Response('<html>hello</html>', { headers: { 'content-type': 'text/html' } })),
    ).rejects.toMatchObject(invalid);
    await expect(
      setup(() => new Response('{not json', { headers: { 'content-type': 'application/json' } })),
    ).rejects.toMatchObject(invalid);
  });

  it('JSON that is not an object', async () => {
    await expect(setup(() => json(['access_token']))).rejects.toMatchObject(invalid);
  });

  it('huge body (declared and streamed without a length)', async () => {
    const big = JSON.stringify({ access_token: 'a'.repeat(300_000), token_type: 'Bearer' });
    await expect(setup(() => json(JSON.parse(big)))).rejects.toMatchObject({
      code: 'ERR_TOKEN_RESPONSE_TOO_LARGE',
    });
    const streamed = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new TextEncoder().encode('a'.repeat(64 * 1024)));
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    await expect(setup(streamed, { maxTokenResponseBytes: 100_000 })).rejects.toMatchObject({
      code: 'ERR_TOKEN_RESPONSE_TOO_LARGE',
    });
  });

  it('negative, zero, non-numeric or absurd expires_in', async () => {
    for (const expires_in of [-1, 0, 'soon', 1e12]) {
      await expect(
        setup(() => json({ access_token: 'x', token_type: 'Bearer', expires_in })),
      ).rejects.toMatchObject(invalid);
    }
  });

  it('expires_in as a numeric string is accepted', async () => {
    const token = await setup(() => json({ access_token: 'x', token_type: 'Bearer', expires_in: '120' }));
    expect(token.expiresAt - token.obtainedAt).toBe(120_000);
  });

  it('without expires_in, uses the JWT exp, else 5 minutes', async () => {
    const now = Math.floor(new FakeClock().now() / 1000);
    const jwt = await setup(() => json({ access_token: fakeJwtExp(now + 900), token_type: 'Bearer' }));
    expect(jwt.expiresAt - jwt.obtainedAt).toBe(900_000);
    const opaque = await setup(() => json({ access_token: 'opaque', token_type: 'Bearer' }));
    expect(opaque.expiresAt - opaque.obtainedAt).toBe(300_000);
  });
});

describe('issuer errors', () => {
  it('an OAuth error is a TokenRequestError carrying error, description and status', async () => {
    await expect(setup(() => oauthError('unauthorized_client', 'disabled', 400))).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_REJECTED',
      error: 'unauthorized_client',
      errorDescription: 'disabled',
      status: 400,
    });
  });

  it('401 with WWW-Authenticate: Basic (bad client secret)', async () => {
    const respond = () =>
      json({ error: 'invalid_client' }, 401, { 'www-authenticate': 'Basic realm="issuer"' });
    await expect(setup(respond)).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_REJECTED',
      error: 'invalid_client',
      status: 401,
    });
  });

  it('5xx and 429 are IssuerUnavailableError', async () => {
    await expect(setup(() => new Response('oops', { status: 500 }))).rejects.toMatchObject({
      code: 'ERR_ISSUER_UNAVAILABLE',
      status: 500,
    });
    await expect(setup(() => new Response('', { status: 429 }))).rejects.toMatchObject({ status: 429 });
  });

  it('a 4xx without an OAuth body is an invalid response', async () => {
    await expect(setup(() => new Response('nope', { status: 404 }))).rejects.toMatchObject(invalid);
  });

  it('a network failure is IssuerUnavailableError', async () => {
    await expect(
      setup(() => {
        throw new TypeError('fetch failed');
      }),
    ).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE', status: undefined });
  });
});

function fakeJwtExp(exp: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp })}.x`;
}
