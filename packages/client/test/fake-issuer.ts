/**
 * A fake transport for unit tests: one `fetch` that plays the authorization server (discovery, token,
 * device authorization) and the API. Tests change its behaviour through the responder functions and
 * read back every request it received.
 */
import type { Clock } from '../src/clock.js';

export const ISSUER = 'https://issuer.test';
export const API = 'https://api.test';

export interface RecordedRequest {
  url: URL;
  method: string;
  headers: Headers;
  /** Form parameters (token endpoint) or undefined. */
  form: URLSearchParams | undefined;
  /** Raw body text (API). */
  body: string | undefined;
}

export class FakeClock implements Clock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.time += ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/** An unsigned JWT-shaped token (the client reads the payload, never verifies). */
export function fakeJwt(payload: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(payload)}.c2lnbmF0dXJl`;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

export function oauthError(error: string, description?: string, status = 400): Response {
  return json({ error, ...(description && { error_description: description }) }, status);
}

export class FakeIssuer {
  readonly requests: RecordedRequest[] = [];
  metadata: Record<string, unknown> = {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/authorize`,
    token_endpoint: `${ISSUER}/token`,
    device_authorization_endpoint: `${ISSUER}/device`,
    jwks_uri: `${ISSUER}/jwks`,
  };
  /** Seconds; the default token lifetime. */
  expiresIn = 3600;
  refreshIn: number | undefined = undefined;
  #serial = 0;
  /** Holds token responses until released (to test concurrency). */
  gate: Promise<void> | undefined;

  /** Override to change the token endpoint's answer. */
  tokenResponder: (form: URLSearchParams, request: RecordedRequest) => Response | Promise<Response> = (
    form,
  ) => this.issue(form);
  /** Override to change the API's answer. */
  apiResponder: (request: RecordedRequest) => Response | Promise<Response> = () => new Response('ok');
  discoveryResponder: (url: URL) => Response | Promise<Response> = (url) =>
    url.pathname === '/.well-known/openid-configuration'
      ? json(this.metadata)
      : new Response('', { status: 404 });
  deviceResponder: (form: URLSearchParams) => Response | Promise<Response> = () =>
    json({
      device_code: 'device-code-1',
      user_code: 'ABCD-EFGH',
      verification_uri: `${ISSUER}/device/verify`,
      expires_in: 600,
      interval: 5,
    });

  constructor(readonly clock: FakeClock = new FakeClock()) {}

  get tokenRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.url.href === `${ISSUER}/token`);
  }
  get apiRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.url.origin === API);
  }

  /** The claims parameter of the n-th token request, parsed. */
  claimsOf(n: number): unknown {
    const value = this.tokenRequests[n]?.form?.get('claims');
    return value === undefined || value === null ? undefined : JSON.parse(value);
  }

  /** A successful token response; a JWT with xms_cc=['cp1'] when the request declared cp1. */
  issue(form: URLSearchParams, extra: Record<string, unknown> = {}): Response {
    const serial = ++this.#serial;
    const claims = form.get('claims') ?? '';
    const cae = /"cp1"/i.test(claims);
    const now = Math.floor(this.clock.now() / 1000);
    const accessToken = fakeJwt({
      iss: ISSUER,
      sub: 'client-1',
      jti: `token-${serial}`,
      iat: now,
      exp: now + this.expiresIn,
      ...(cae && { xms_cc: ['cp1'] }),
    });
    return json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.expiresIn,
      ...(this.refreshIn !== undefined && { refresh_in: this.refreshIn }),
      ...extra,
    });
  }

  /** The jti of a fake JWT, to tell tokens apart in assertions. */
  static jti(token: string): string {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      jti: string;
    };
    return payload.jti;
  }

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init as RequestInit);
    const url = new URL(request.url);
    const body = request.body ? await request.text() : undefined;
    const isForm = request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded');
    const recorded: RecordedRequest = {
      url,
      method: request.method,
      headers: request.headers,
      form: isForm && body !== undefined ? new URLSearchParams(body) : undefined,
      body,
    };
    this.requests.push(recorded);
    if (url.origin === ISSUER) {
      if (url.pathname.startsWith('/.well-known/')) return this.discoveryResponder(url);
      if (url.pathname === '/token') {
        if (this.gate) await this.gate;
        return this.tokenResponder(recorded.form ?? new URLSearchParams(), recorded);
      }
      if (url.pathname === '/device') return this.deviceResponder(recorded.form ?? new URLSearchParams());
    }
    if (url.origin === API) return this.apiResponder(recorded);
    throw new TypeError(`fetch failed: no route to ${url.href}`);
  };
}

/** The `Bearer` token an API request carried. */
export function bearerOf(request: RecordedRequest | undefined): string | undefined {
  return request?.headers.get('authorization')?.replace(/^Bearer /, '');
}
