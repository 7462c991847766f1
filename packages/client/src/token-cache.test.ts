import { describe, expect, it } from 'vitest';
import { FakeClock, FakeIssuer, ISSUER, oauthError } from '../test/fake-issuer.js';
import { OpenCaeClient, type OpenCaeClientOptions } from './index.js';

function setup(options: Partial<OpenCaeClientOptions> = {}) {
  const clock = new FakeClock();
  const issuer = new FakeIssuer(clock);
  const backgroundErrors: unknown[] = [];
  const client = new OpenCaeClient({
    issuer: ISSUER,
    clientId: 'daemon-1',
    clientSecret: 's3cret',
    scopes: 'api://orders/.default',
    fetch: issuer.fetch,
    clock,
    onBackgroundError: (e) => backgroundErrors.push(e),
    ...options,
  });
  return { clock, issuer, client, backgroundErrors };
}

const jti = (token: { token: string }) => FakeIssuer.jti(token.token);
/** Lets background work (a refresh started by a call) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('single-flight', () => {
  it('N concurrent callers for the same key cause one token request', async () => {
    const { issuer, client } = setup();
    let release!: () => void;
    issuer.gate = new Promise((resolve) => {
      release = resolve;
    });
    const callers = Array.from({ length: 25 }, () => client.getAccessToken());
    await settle();
    release();
    const tokens = await Promise.all(callers);
    expect(issuer.tokenRequests).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
  });

  it('different keys (scopes, resource, claims) are separate requests; scope order does not matter', async () => {
    const { issuer, client } = setup();
    await Promise.all([
      client.getAccessToken({ scopes: 'a b' }),
      client.getAccessToken({ scopes: ['b', 'a'] }),
      client.getAccessToken({ scopes: 'a', resource: 'https://r.test' }),
      client.getAccessToken({
        scopes: 'a',
        claims: { access_token: { acrs: { essential: true, value: 'c1' } } },
      }),
    ]);
    expect(issuer.tokenRequests).toHaveLength(3);
  });

  it('a failed request fails every waiting caller and is not cached', async () => {
    const { issuer, client } = setup();
    issuer.tokenResponder = () => oauthError('invalid_client', 'bad secret', 401);
    const results = await Promise.allSettled([client.getAccessToken(), client.getAccessToken()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(issuer.tokenRequests).toHaveLength(1);
    issuer.tokenResponder = (form) => issuer.issue(form);
    await expect(client.getAccessToken()).resolves.toBeTruthy();
  });

  it('a caller can stop waiting (abort) without cancelling the shared request', async () => {
    const { issuer, client } = setup();
    let release!: () => void;
    issuer.gate = new Promise((resolve) => {
      release = resolve;
    });
    const controller = new AbortController();
    const aborted = client.getAccessToken({ signal: controller.signal });
    const waiting = client.getAccessToken();
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    release();
    await expect(waiting).resolves.toBeTruthy();
    expect(issuer.tokenRequests).toHaveLength(1);
  });
});

describe('proactive refresh', () => {
  it('at refresh_in exactly, serves the cached token and refreshes in the background', async () => {
    const { issuer, client, clock } = setup();
    issuer.expiresIn = 86_400;
    issuer.refreshIn = 43_200;
    const first = await client.getAccessToken();
    expect(first.refreshAt - first.obtainedAt).toBe(43_200_000);

    clock.advance(43_200_000 - 1);
    expect(jti(await client.getAccessToken())).toBe(jti(first));
    await settle();
    expect(issuer.tokenRequests).toHaveLength(1);

    clock.advance(1); // exactly refresh_in
    expect(jti(await client.getAccessToken())).toBe(jti(first)); // still served while refreshing
    await settle();
    expect(issuer.tokenRequests).toHaveLength(2);
    expect(jti(await client.getAccessToken())).not.toBe(jti(first));
  });

  it('without refresh_in, refreshes at 0.75 of the lifetime (configurable)', async () => {
    const { issuer, client } = setup();
    issuer.expiresIn = 4000;
    const token = await client.getAccessToken();
    expect(token.refreshAt - token.obtainedAt).toBe(3_000_000);
    const other = setup({ refreshFraction: 0.5 });
    other.issuer.expiresIn = 4000;
    const half = await other.client.getAccessToken();
    expect(half.refreshAt - half.obtainedAt).toBe(2_000_000);
  });

  it('ignores a refresh_in that is not below expires_in', async () => {
    const { issuer, client } = setup();
    issuer.expiresIn = 1000;
    issuer.refreshIn = 5000;
    const token = await client.getAccessToken();
    expect(token.refreshAt - token.obtainedAt).toBe(750_000);
  });

  it('a failed background refresh keeps the valid token and retries with exponential backoff', async () => {
    const { issuer, client, clock, backgroundErrors } = setup({
      backoff: { initialMs: 10_000, maxMs: 40_000 },
    });
    issuer.expiresIn = 3600;
    const first = await client.getAccessToken();
    issuer.tokenResponder = () => new Response('down', { status: 503 });
    clock.time = first.refreshAt;

    const attempts = () => issuer.tokenRequests.length - 1;
    const call = async () => {
      expect(jti(await client.getAccessToken())).toBe(jti(first));
      await settle();
    };
    await call();
    expect(attempts()).toBe(1);
    expect(backgroundErrors.at(-1)).toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE', status: 503 });
    // backoff 10 s, then 20 s, then 40 s, capped at 40 s
    const schedule = [10_000, 20_000, 40_000, 40_000];
    for (const [i, delay] of schedule.entries()) {
      clock.advance(delay - 1);
      await call();
      expect(attempts()).toBe(i + 1);
      clock.advance(1);
      await call();
      expect(attempts()).toBe(i + 2);
    }
    // the issuer recovers: the next attempt replaces the token and resets the backoff
    issuer.tokenResponder = (form) => issuer.issue(form);
    clock.advance(40_000);
    await call();
    expect(jti(await client.getAccessToken())).not.toBe(jti(first));
  });
});

describe('expiry', () => {
  it('never serves a token at or past expiry minus skew (default 30 s)', async () => {
    const { issuer, client, clock } = setup();
    issuer.expiresIn = 3600;
    const first = await client.getAccessToken();
    issuer.tokenResponder = () => new Response('down', { status: 503 });
    // keep the background refresh from replacing it
    clock.time = first.expiresAt - 30_000 - 1;
    expect(jti(await client.getAccessToken())).toBe(jti(first));
    await settle();
    clock.time = first.expiresAt - 30_000;
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE' });
    clock.time = first.expiresAt;
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE' });
  });

  it('at expiry the caller waits for a new token', async () => {
    const { issuer, client, clock } = setup({ expirySkewSeconds: 0 });
    const first = await client.getAccessToken();
    clock.time = first.expiresAt - 1;
    expect(jti(await client.getAccessToken())).toBe(jti(first));
    await settle();
    const afterBackground = issuer.tokenRequests.length;
    const refreshed = await client.getAccessToken();
    clock.time = refreshed.expiresAt;
    const next = await client.getAccessToken();
    expect(jti(next)).not.toBe(jti(refreshed));
    expect(issuer.tokenRequests.length).toBe(afterBackground + 1);
  });

  it('refreshAt never falls after the last usable instant', async () => {
    const { issuer, client } = setup({ expirySkewSeconds: 60 });
    issuer.expiresIn = 100;
    const token = await client.getAccessToken();
    expect(token.refreshAt).toBe(token.expiresAt - 60_000);
  });

  it('the lifetime counts from when the request was sent', async () => {
    const { issuer, client, clock } = setup();
    const sentAt = clock.now();
    issuer.tokenResponder = (form) => {
      clock.advance(5_000); // slow issuer
      return issuer.issue(form);
    };
    const token = await client.getAccessToken();
    expect(token.obtainedAt).toBe(sentAt);
    expect(token.expiresAt).toBe(sentAt + 3_600_000);
  });
});

describe('a failing store', () => {
  it('does not fail the caller: tokens are still served and the failures reported', async () => {
    const broken = {
      get: async () => {
        throw new Error('store down (get)');
      },
      set: async () => {
        throw new Error('store down (set)');
      },
      delete: async () => {},
    };
    const { issuer, client, backgroundErrors } = setup({ store: broken });
    const first = await client.getAccessToken();
    expect((await client.getAccessToken()).token).toBe(first.token);
    expect(issuer.tokenRequests).toHaveLength(1);
    expect(backgroundErrors.map((e) => (e as Error).message)).toEqual(
      expect.arrayContaining(['store down (get)', 'store down (set)']),
    );
  });

  it('a corrupt stored value is a cache miss', async () => {
    const store = { get: async () => '{"v":1,"token":42}', set: async () => {}, delete: async () => {} };
    const { issuer, client } = setup({ store });
    await client.getAccessToken();
    expect(issuer.tokenRequests).toHaveLength(1);
  });
});
