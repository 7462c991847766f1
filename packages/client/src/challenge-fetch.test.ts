import { readFileSync } from 'node:fs';
import { buildBearerChallenge, buildClaimsChallenge, revocationClaims } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import {
  API,
  bearerOf,
  FakeClock,
  FakeIssuer,
  ISSUER,
  oauthError,
  type RecordedRequest,
} from '../test/fake-issuer.js';
import { ClaimsChallengeRefusedError, OpenCaeClient, type OpenCaeClientOptions } from './index.js';

interface FixtureCase {
  name: string;
  headers: string[];
  expect: { isCaeChallenge: boolean; claims?: Record<string, unknown> };
}
const fixtures = (
  JSON.parse(
    // The repository's copy of ../shared/fixtures (kept by the protocol package), so a clone anywhere runs it.
    readFileSync(new URL('../../protocol/test/fixtures/challenges.json', import.meta.url), 'utf8'),
  ) as {
    cases: FixtureCase[];
  }
).cases;

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

const CHALLENGE = buildClaimsChallenge({
  authorizationUri: `${ISSUER}/authorize`,
  claims: revocationClaims(1_700_000_000),
  errorDescription: 'token revoked',
});

/** An API that rejects the first token it sees with `header`, accepts any other. */
function rejectFirstToken(issuer: FakeIssuer, header: string | string[]) {
  let rejected: string | undefined;
  issuer.apiResponder = (request: RecordedRequest) => {
    const token = bearerOf(request);
    rejected ??= token;
    if (token !== rejected) return new Response(`hello ${request.body ?? ''}`);
    const headers = new Headers();
    for (const h of Array.isArray(header) ? header : [header]) headers.append('www-authenticate', h);
    return new Response('challenged', { status: 401, headers });
  };
}

describe('claims challenges from real-world fixtures', () => {
  for (const fixture of fixtures) {
    it(`${fixture.name}: ${fixture.expect.isCaeChallenge ? 'answered once' : 'returned as is'}`, async () => {
      const { issuer, client } = setup();
      rejectFirstToken(issuer, fixture.headers);
      const response = await client.fetch(`${API}/orders`);
      if (fixture.expect.isCaeChallenge) {
        expect(response.status).toBe(200);
        expect(issuer.apiRequests).toHaveLength(2);
        expect(issuer.tokenRequests).toHaveLength(2);
        const claims = issuer.claimsOf(1) as { access_token: Record<string, unknown> };
        // the challenge's claims, merged with the capability
        expect(claims.access_token).toEqual({
          ...(fixture.expect.claims!.access_token as object),
          xms_cc: { values: ['cp1'] },
        });
        expect(bearerOf(issuer.apiRequests[1])).not.toBe(bearerOf(issuer.apiRequests[0]));
      } else {
        expect(response.status).toBe(401);
        expect(await response.text()).toBe('challenged');
        expect(issuer.apiRequests).toHaveLength(1);
        expect(issuer.tokenRequests).toHaveLength(1);
      }
    });
  }
});

describe('challenge handling', () => {
  it('caches the renewed token for the next calls', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, CHALLENGE);
    await client.fetch(`${API}/a`);
    await client.fetch(`${API}/b`);
    expect(issuer.tokenRequests).toHaveLength(2);
    expect(bearerOf(issuer.apiRequests[2])).toBe(bearerOf(issuer.apiRequests[1]));
  });

  it('retries once: a second challenge is returned to the caller, never looped', async () => {
    const { issuer, client } = setup();
    issuer.apiResponder = () =>
      new Response('no', { status: 401, headers: { 'www-authenticate': CHALLENGE } });
    const response = await client.fetch(`${API}/orders`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
    expect(issuer.apiRequests).toHaveLength(2);
    expect(issuer.tokenRequests).toHaveLength(2);
  });

  it('a refusal by the issuer is a ClaimsChallengeRefusedError with the OAuth error, the challenge and the response', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, CHALLENGE);
    await client.getAccessToken();
    issuer.tokenResponder = () => oauthError('invalid_client', 'client secret was reset', 401);
    const error = await client.fetch(`${API}/orders`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimsChallengeRefusedError);
    const refused = error as ClaimsChallengeRefusedError;
    expect(refused.code).toBe('ERR_CHALLENGE_REFUSED');
    expect(refused.error).toBe('invalid_client');
    expect(refused.errorDescription).toBe('client secret was reset');
    expect(refused.challenge.claims).toEqual(revocationClaims(1_700_000_000));
    expect(refused.challenge.errorDescription).toBe('token revoked');
    expect(refused.response.status).toBe(401);
    expect(await refused.response.text()).toBe('challenged');
    expect(issuer.apiRequests).toHaveLength(1);
    expect(issuer.tokenRequests).toHaveLength(2);

    // the rejected token is not sent again: the next call goes to the issuer first
    await expect(client.fetch(`${API}/orders`)).rejects.toMatchObject({ code: 'ERR_TOKEN_REQUEST_REJECTED' });
    expect(issuer.apiRequests).toHaveLength(1);
  });

  it('an issuer outage while answering is not a refusal', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, CHALLENGE);
    await client.getAccessToken();
    issuer.tokenResponder = () => new Response('', { status: 502 });
    await expect(client.fetch(`${API}/orders`)).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE' });
  });

  it('a 401 without claims is returned as is', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, buildBearerChallenge({ error: 'invalid_token', errorDescription: 'expired' }));
    expect((await client.fetch(`${API}/orders`)).status).toBe(401);
    expect(issuer.tokenRequests).toHaveLength(1);
    expect(issuer.apiRequests).toHaveLength(1);
  });

  it('a 401 without WWW-Authenticate is returned as is', async () => {
    const { issuer, client } = setup();
    issuer.apiResponder = () => new Response('', { status: 401 });
    expect((await client.fetch(`${API}/orders`)).status).toBe(401);
    expect(issuer.tokenRequests).toHaveLength(1);
  });

  it('a claims challenge on a 403 is not answered', async () => {
    const { issuer, client } = setup();
    issuer.apiResponder = () => new Response('', { status: 403, headers: { 'www-authenticate': CHALLENGE } });
    expect((await client.fetch(`${API}/orders`)).status).toBe(403);
    expect(issuer.tokenRequests).toHaveLength(1);
  });

  it('a challenge for a token that is not CAE-capable is returned as is', async () => {
    const { issuer, client } = setup();
    issuer.tokenResponder = (form) =>
      issuer.issue(new URLSearchParams({ ...Object.fromEntries(form), claims: '' }));
    rejectFirstToken(issuer, CHALLENGE);
    expect((await client.fetch(`${API}/orders`)).status).toBe(401);
    expect(issuer.tokenRequests).toHaveLength(1);
  });

  it('a client with capabilities: [] does not answer challenges', async () => {
    const { issuer, client } = setup({ capabilities: [] });
    rejectFirstToken(issuer, CHALLENGE);
    expect((await client.fetch(`${API}/orders`)).status).toBe(401);
    expect(issuer.tokenRequests).toHaveLength(1);
  });

  it('concurrent requests hit by the same challenge share one token request', async () => {
    const { issuer, client } = setup();
    await client.getAccessToken();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = bearerOf;
    let rejected: string | undefined;
    issuer.apiResponder = (request) => {
      rejected ??= first(request);
      return bearerOf(request) === rejected
        ? new Response('', { status: 401, headers: { 'www-authenticate': CHALLENGE } })
        : new Response('ok');
    };
    issuer.gate = gate;
    const calls = Array.from({ length: 10 }, () => client.fetch(`${API}/orders`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const responses = await Promise.all(calls);
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(issuer.tokenRequests).toHaveLength(2);
  });

  it('answerChallenge takes the header value and renews the cached token', async () => {
    const { issuer, client } = setup();
    const before = await client.getAccessToken();
    const after = await client.answerChallenge(CHALLENGE);
    expect(after.token).not.toBe(before.token);
    expect((await client.getAccessToken()).token).toBe(after.token);
    expect(issuer.claimsOf(1)).toEqual({
      access_token: { nbf: { essential: true, value: '1700000000' }, xms_cc: { values: ['cp1'] } },
    });
  });
});

describe('request bodies', () => {
  const replayable: [string, () => BodyInit, string][] = [
    ['string', () => 'text body', 'text body'],
    ['ArrayBuffer', () => new TextEncoder().encode('bytes body').buffer as ArrayBuffer, 'bytes body'],
    ['Uint8Array', () => new TextEncoder().encode('view body'), 'view body'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1' }), 'a=1'],
    ['Blob', () => new Blob(['blob body']), 'blob body'],
  ];
  for (const [kind, body, text] of replayable) {
    it(`replays a ${kind} body after a challenge`, async () => {
      const { issuer, client } = setup();
      rejectFirstToken(issuer, CHALLENGE);
      const response = await client.fetch(`${API}/orders`, { method: 'POST', body: body() });
      expect(await response.text()).toBe(`hello ${text}`);
      expect(issuer.apiRequests.map((r) => r.body)).toEqual([text, text]);
    });
  }

  it('replays a FormData body', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, CHALLENGE);
    const form = new FormData();
    form.set('field', 'value');
    const response = await client.fetch(`${API}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    for (const request of issuer.apiRequests) expect(request.body).toContain('value');
  });

  const stream = (parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
        controller.close();
      },
    });

  it('buffers a stream within the limit and replays it', async () => {
    const { issuer, client } = setup({ maxReplayBodyBytes: 10 });
    rejectFirstToken(issuer, CHALLENGE);
    const init = { method: 'POST', body: stream(['01234', '56789']), duplex: 'half' } as RequestInit;
    const response = await client.fetch(`${API}/orders`, init);
    expect(await response.text()).toBe('hello 0123456789');
    expect(issuer.apiRequests.map((r) => r.body)).toEqual(['0123456789', '0123456789']);
  });

  it('fails with a typed error, before sending, when a stream exceeds the limit', async () => {
    const { issuer, client } = setup({ maxReplayBodyBytes: 10 });
    const init = { method: 'POST', body: stream(['01234', '567890']), duplex: 'half' } as RequestInit;
    await expect(client.fetch(`${API}/orders`, init)).rejects.toMatchObject({
      code: 'ERR_BODY_TOO_LARGE_TO_REPLAY',
      limit: 10,
      message: expect.stringContaining('maxReplayBodyBytes'),
    });
    expect(issuer.apiRequests).toHaveLength(0);
  });

  it('takes method, headers and body from a Request', async () => {
    const { issuer, client } = setup();
    rejectFirstToken(issuer, CHALLENGE);
    const request = new Request(`${API}/orders`, {
      method: 'PUT',
      body: 'from request',
      headers: { 'x-trace': '1', authorization: 'Bearer stale' },
    });
    const response = await client.fetch(request);
    expect(await response.text()).toBe('hello from request');
    for (const r of issuer.apiRequests) {
      expect(r.method).toBe('PUT');
      expect(r.headers.get('x-trace')).toBe('1');
      expect(r.headers.get('authorization')).not.toBe('Bearer stale');
    }
  });
});
