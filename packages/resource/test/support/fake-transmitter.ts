/**
 * A spec-following SSF 1.0 transmitter for tests, built on FakeIssuer: metadata, client-credentials
 * tokens, stream management (list, create, update, status, verification), RFC 8936 poll and RFC 8935
 * push, SETs signed with the issuer's key by @opencae/protocol.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { buildSet, DELIVERY, SSF, type SubjectIdentifier, signSet } from '@opencae/protocol';
import { FakeIssuer, sendJson } from './fake-issuer.js';

export interface FakeStream {
  stream_id: string;
  iss: string;
  aud: string;
  events_requested: string[];
  events_delivered: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  status: 'enabled' | 'paused' | 'disabled';
  pending: Map<string, string>;
}

export class FakeTransmitter {
  readonly streams = new Map<string, FakeStream>();
  readonly acks: string[] = [];
  readonly setErrs: Record<string, { err: string; description: string }> = {};
  readonly pushResponses: { status: number; body: string }[] = [];
  tokensIssued = 0;
  /** The `scope` of each client-credentials token request, in order. */
  readonly tokenScopes: string[] = [];
  /**
   * The OpenCAE location policy document served at /conditional-access/v1/location-policies (as the
   * issuer's sync endpoint: same bearer token, ETag, 304); undefined answers 404 like a transmitter
   * that is not an OpenCAE issuer.
   */
  locationPolicies: Record<string, unknown> | undefined = {
    policyVersion: 1,
    audienceVersion: 1,
    policies: [],
    namedLocations: [],
  };
  locationPolicyRequests = 0;
  pollRequests = 0;
  /** The next N poll requests answer 500. */
  failPolls = 0;
  readonly clientId = 'receiver-client';
  readonly clientSecret = 'receiver-secret with spaces & symbols';
  readonly audience = 'api://receiver';
  #waiters: (() => void)[] = [];

  private constructor(readonly issuer: FakeIssuer) {}

  static async start(): Promise<FakeTransmitter> {
    const issuer = await FakeIssuer.start();
    const transmitter = new FakeTransmitter(issuer);
    issuer.routes.push((req, res, body) => transmitter.#route(req, res, body));
    return transmitter;
  }

  get url(): string {
    return this.issuer.url;
  }

  close(): Promise<void> {
    for (const wake of this.#waiters.splice(0)) wake();
    return this.issuer.close();
  }

  #authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === 'Bearer transmitter-access-token';
  }

  async #route(
    req: IncomingMessage,
    res: import('node:http').ServerResponse,
    body: string,
  ): Promise<boolean> {
    const url = new URL(req.url ?? '/', this.url);
    const json = () => (body ? JSON.parse(body) : {});
    if (url.pathname === '/.well-known/ssf-configuration') {
      sendJson(res, 200, {
        spec_version: '1_0',
        issuer: this.url,
        jwks_uri: `${this.url}/jwks`,
        delivery_methods_supported: [DELIVERY.push, DELIVERY.poll],
        configuration_endpoint: `${this.url}/ssf/stream`,
        status_endpoint: `${this.url}/ssf/status`,
        verification_endpoint: `${this.url}/ssf/verify`,
      });
      return true;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const expected = `Basic ${Buffer.from(
        `${encodeURIComponent(this.clientId).replace(/%20/g, '+')}:${encodeURIComponent(this.clientSecret).replace(/%20/g, '+')}`,
      ).toString('base64')}`;
      const form = new URLSearchParams(body);
      if (req.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials') {
        sendJson(res, 401, { error: 'invalid_client' });
        return true;
      }
      this.tokensIssued++;
      this.tokenScopes.push(form.get('scope') ?? '');
      sendJson(res, 200, {
        access_token: 'transmitter-access-token',
        token_type: 'Bearer',
        expires_in: 3600,
      });
      return true;
    }
    if (url.pathname === '/conditional-access/v1/location-policies' && req.method === 'GET') {
      this.locationPolicyRequests++;
      if (!this.locationPolicies) return false;
      if (!this.#authorized(req)) {
        sendJson(res, 401, { error: 'invalid_token' });
        return true;
      }
      const text = JSON.stringify({ audience: url.searchParams.get('audience'), ...this.locationPolicies });
      const etag = `"${createHash('sha256').update(text).digest('base64url')}"`;
      if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
      else res.writeHead(200, { 'content-type': 'application/json', etag }).end(text);
      return true;
    }
    if (!url.pathname.startsWith('/ssf/')) return false;
    if (!this.#authorized(req)) {
      sendJson(res, 401, { error: 'invalid_token' });
      return true;
    }
    if (url.pathname === '/ssf/stream') {
      if (req.method === 'GET') {
        sendJson(res, 200, [...this.streams.values()].map(publicView));
      } else if (req.method === 'POST') {
        const request = json();
        const stream_id = randomUUID();
        const stream: FakeStream = {
          stream_id,
          iss: this.url,
          aud: this.audience,
          events_requested: request.events_requested ?? [],
          events_delivered: request.events_requested ?? [],
          delivery:
            request.delivery?.method === DELIVERY.poll
              ? { method: DELIVERY.poll, endpoint_url: `${this.url}/ssf/poll/${stream_id}` }
              : request.delivery,
          status: 'enabled',
          pending: new Map(),
        };
        this.streams.set(stream_id, stream);
        sendJson(res, 201, publicView(stream));
      } else if (req.method === 'PATCH') {
        const request = json();
        const stream = this.streams.get(request.stream_id);
        if (!stream) {
          sendJson(res, 404, { error: 'not_found' });
          return true;
        }
        if (request.events_requested)
          stream.events_requested = stream.events_delivered = request.events_requested;
        if (request.delivery?.method === DELIVERY.push) stream.delivery = request.delivery;
        sendJson(res, 200, publicView(stream));
      }
      return true;
    }
    if (url.pathname === '/ssf/status') {
      const stream = this.streams.get(url.searchParams.get('stream_id') ?? '');
      if (!stream) sendJson(res, 404, { error: 'not_found' });
      else sendJson(res, 200, { stream_id: stream.stream_id, status: stream.status });
      return true;
    }
    if (url.pathname === '/ssf/verify' && req.method === 'POST') {
      const request = json();
      const stream = this.streams.get(request.stream_id);
      if (!stream) {
        sendJson(res, 404, { error: 'not_found' });
        return true;
      }
      res.writeHead(204).end();
      await this.emit(
        SSF.verification,
        { state: request.state },
        { format: 'opaque', id: stream.stream_id },
        stream,
      );
      return true;
    }
    const poll = /^\/ssf\/poll\/(.+)$/.exec(url.pathname);
    if (poll && req.method === 'POST') {
      this.pollRequests++;
      const stream = this.streams.get(poll[1]!);
      if (!stream) {
        sendJson(res, 404, { error: 'not_found' });
        return true;
      }
      if (this.failPolls > 0) {
        this.failPolls--;
        sendJson(res, 500, { error: 'boom' });
        return true;
      }
      const request = json();
      for (const jti of request.ack ?? []) {
        this.acks.push(jti);
        stream.pending.delete(jti);
      }
      for (const [jti, error] of Object.entries(request.setErrs ?? {})) {
        this.setErrs[jti] = error as { err: string; description: string };
        stream.pending.delete(jti);
      }
      if (stream.pending.size === 0 && !request.returnImmediately) {
        // Long poll: hold the request until something is queued (or a short test timeout).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 300);
          this.#waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const max = request.maxEvents ?? 100;
      const sets = Object.fromEntries([...stream.pending].slice(0, max));
      if (!res.destroyed) sendJson(res, 200, { sets, moreAvailable: stream.pending.size > max });
      return true;
    }
    return false;
  }

  /** Signs and delivers a SET on every stream (or one): queued for poll, POSTed for push. */
  async emit(
    eventType: string,
    event: Record<string, unknown>,
    subject: SubjectIdentifier,
    only?: FakeStream,
  ): Promise<string[]> {
    const jtis: string[] = [];
    for (const stream of only ? [only] : this.streams.values()) {
      const jwt = await this.sign(eventType, event, subject, stream.aud);
      jtis.push(await this.deliver(stream, jwt));
    }
    return jtis;
  }

  async sign(
    eventType: string,
    event: Record<string, unknown>,
    subject: SubjectIdentifier,
    aud = this.audience,
  ) {
    const payload = buildSet({ issuer: this.url, audience: aud, subject, eventType, event });
    return signSet(payload, this.issuer.key.privateKey, { alg: 'RS256', kid: this.issuer.key.kid });
  }

  /** Delivers an already signed SET (possibly again: redelivery). Returns its jti. */
  async deliver(stream: FakeStream, jwt: string): Promise<string> {
    const jti = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti as string;
    if (stream.delivery.method === DELIVERY.poll) {
      stream.pending.set(jti, jwt);
      for (const wake of this.#waiters.splice(0)) wake();
    } else {
      const response = await fetch(stream.delivery.endpoint_url!, {
        method: 'POST',
        headers: {
          'content-type': 'application/secevent+jwt',
          authorization: stream.delivery.authorization_header ?? '',
        },
        body: jwt,
      });
      this.pushResponses.push({ status: response.status, body: await response.text() });
    }
    return jti;
  }
}

function publicView(stream: FakeStream) {
  const { pending: _pending, status: _status, ...rest } = stream;
  // SSF: the authorization header is write-only.
  const { authorization_header: _secret, ...delivery } = rest.delivery;
  return { ...rest, delivery };
}

/**
 * A location policy document (as the OpenCAE issuer serves it) with one policy, `p-trusted`: every user
 * is blocked outside the trusted named location `loc-office`, which holds `ranges`.
 */
export function trustedOnlyDocument(ranges: string[], version: number): Record<string, unknown> {
  return {
    policyVersion: version,
    audienceVersion: version,
    policies: [
      {
        id: 'p-trusted',
        name: 'Trusted networks only',
        assignments: {
          users: { include: ['All'], exclude: [] },
          groups: { include: [], exclude: [] },
          servicePrincipals: { include: [], exclude: [] },
        },
        locations: { include: ['All'], exclude: ['AllTrusted'] },
        caeMode: 'default',
      },
    ],
    namedLocations: [{ id: 'loc-office', name: 'Office', trusted: true, ranges }],
  };
}
