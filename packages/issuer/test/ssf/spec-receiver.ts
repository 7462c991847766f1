/**
 * A test SSF receiver written from the specifications (SSF 1.0, RFC 8417 SET, RFC 8935 push,
 * RFC 8936 poll, RFC 9493 subjects), not from the transmitter's code. It discovers the transmitter at
 * /.well-known/ssf-configuration, fetches the JWKS over HTTP from `jwks_uri`, and validates every SET:
 * header typ and alg, signature, iss, aud, iat, jti, txn, sub_id, exactly one event, no `exp`/`sub`,
 * and the event's schema. It de-duplicates by jti and counts duplicates.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEvent, subjectIdentifierSchema, transmitterMetadataSchema } from '@opencae/protocol';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';

export interface ReceivedSet {
  jti: string;
  txn: string | undefined;
  iss: string;
  aud: string | string[];
  iat: number;
  subId: Record<string, unknown>;
  eventType: string;
  event: Record<string, unknown>;
  kid: string | undefined;
}

export class SetValidationError extends Error {}

/**
 * The transmitter's keys could not be fetched (it is down or restarting): nothing is known about the
 * SET yet. A receiver answers 503 so the transmitter delivers it again, instead of refusing it.
 */
export class KeysUnavailableError extends Error {}

/** jose's fetch of the JWKS failed (network error or timeout), as opposed to a SET that fails checks. */
function isKeyFetchFailure(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string };
  return e.code === 'ERR_JWKS_TIMEOUT' || (e.name === 'TypeError' && e.message === 'fetch failed');
}

export async function discoverTransmitter(issuer: string) {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const response = await fetch(`${url.origin}/.well-known/ssf-configuration${path === '/' ? '' : path}`);
  if (response.status !== 200) throw new Error(`SSF configuration: HTTP ${response.status}`);
  if (!response.headers.get('content-type')?.startsWith('application/json'))
    throw new Error('SSF configuration must be application/json');
  const metadata = transmitterMetadataSchema.parse(await response.json());
  if (metadata.issuer !== issuer) throw new Error('SSF configuration issuer differs from the issuer URL');
  return metadata;
}

/** Validates SETs of one transmitter for one audience. */
export class SetValidator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly issuer: string,
    jwksUri: string,
    private readonly audience: string,
  ) {
    this.jwks = createRemoteJWKSet(new URL(jwksUri));
  }

  async validate(jwt: string): Promise<ReceivedSet> {
    const header = decodeProtectedHeader(jwt);
    // RFC 8417 §2.3 explicit typing; SSF 1.0 requires it.
    if (header.typ !== 'secevent+jwt') throw new SetValidationError(`typ is ${String(header.typ)}`);
    if (header.alg !== 'RS256') throw new SetValidationError(`alg is ${String(header.alg)}`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, this.jwks, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['RS256'],
        typ: 'secevent+jwt',
      }));
    } catch (error) {
      if (isKeyFetchFailure(error))
        throw new KeysUnavailableError(`transmitter keys unavailable: ${(error as Error).message}`);
      throw new SetValidationError(`signature or claims rejected: ${(error as Error).message}`);
    }
    if (typeof payload.iat !== 'number') throw new SetValidationError('iat missing');
    if (payload.iat > Date.now() / 1000 + 60) throw new SetValidationError('iat in the future');
    if (typeof payload.jti !== 'string' || payload.jti === '') throw new SetValidationError('jti missing');
    if (payload.exp !== undefined) throw new SetValidationError('SSF SETs must not carry exp');
    if (payload.sub !== undefined) throw new SetValidationError('SSF SETs must not carry sub');
    if (payload.txn !== undefined && typeof payload.txn !== 'string')
      throw new SetValidationError('txn invalid');
    const subject = subjectIdentifierSchema.safeParse(payload.sub_id);
    if (!subject.success) throw new SetValidationError('sub_id is not a subject identifier');
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object') throw new SetValidationError('events missing');
    const types = Object.keys(events);
    if (types.length !== 1) throw new SetValidationError(`expected exactly one event, got ${types.length}`);
    const eventType = types[0] as string;
    const { event } = parseEvent(eventType, events[eventType]);
    return {
      jti: payload.jti,
      txn: payload.txn as string | undefined,
      iss: payload.iss as string,
      aud: payload.aud as string | string[],
      iat: payload.iat,
      subId: subject.data as Record<string, unknown>,
      eventType,
      event,
      kid: header.kid,
    };
  }
}

/** How the push receiver answers the next request(s). */
export type PushBehaviour =
  | { kind: 'accept' }
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'hang' }
  /** Accepts (or refuses, if invalid) after a delay: a slow receiver. */
  | { kind: 'delay'; ms: number };

/** De-duplicated store of what a receiver accepted. */
export class ReceivedSets {
  readonly sets: ReceivedSet[] = [];
  readonly arrivals = new Map<string, number>();
  duplicates = 0;
  readonly invalid: string[] = [];
  /** SETs answered with 503 because the transmitter's keys could not be fetched (delivered again). */
  readonly deferred: string[] = [];
  private readonly listeners = new Set<() => void>();

  add(set: ReceivedSet): void {
    if (this.arrivals.has(set.jti)) {
      this.duplicates++;
      return;
    }
    this.arrivals.set(set.jti, performance.now());
    this.sets.push(set);
    for (const listener of this.listeners) listener();
  }

  ofType(type: string): ReceivedSet[] {
    return this.sets.filter((set) => set.eventType === type);
  }

  /** Resolves once `predicate` holds (checked on each arrival), or rejects after `timeoutMs`. */
  waitFor(predicate: (sets: ReceivedSet[]) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this.sets)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this.sets)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for SETs (have ${this.sets.length})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}

/** An RFC 8935 push endpoint. */
export class PushReceiver {
  readonly received = new ReceivedSets();
  readonly requests: {
    authorization: string | undefined;
    contentType: string | undefined;
    accept: string | undefined;
  }[] = [];
  private readonly script: PushBehaviour[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';
  validator: SetValidator | undefined;

  /** The next answers, in order; afterwards it accepts. */
  respond(...behaviours: PushBehaviour[]): void {
    this.script.push(...behaviours);
  }

  async start(path = '/events'): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}${path}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    const closed = new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server?.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    this.requests.push({
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      accept: request.headers.accept,
    });
    const behaviour = this.script.shift() ?? { kind: 'accept' };
    if (behaviour.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, behaviour.ms));
    if (behaviour.kind === 'hang') {
      this.hanging.add(response);
      return;
    }
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status, { 'content-type': 'application/json' });
      response.end(behaviour.body === undefined ? '' : JSON.stringify(behaviour.body));
      return;
    }
    if (request.method !== 'POST' || request.headers['content-type'] !== 'application/secevent+jwt') {
      return this.error(response, 'invalid_request', 'expected POST application/secevent+jwt');
    }
    try {
      if (!this.validator) throw new SetValidationError('receiver not configured');
      this.received.add(await this.validator.validate(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(202).end();
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        this.received.deferred.push(error.message);
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ err: 'temporarily_unavailable', description: error.message }));
        return;
      }
      this.received.invalid.push((error as Error).message);
      this.error(response, 'invalid_request', (error as Error).message);
    }
  }

  private error(response: ServerResponse, err: string, description: string): void {
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ err, description }));
  }
}

/**
 * An RFC 8936 poll client: long-polls, validates, acknowledges in the next request, de-duplicates.
 */
export class PollingReceiver {
  readonly received = new ReceivedSets();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private controller = new AbortController();

  constructor(
    private readonly pollUrl: string,
    private readonly token: () => string,
    private readonly validator: SetValidator,
    private readonly options: { maxEvents?: number; acknowledge?: boolean } = {},
  ) {}

  /** One poll request; returns the raw response. */
  async pollOnce(
    body: Record<string, unknown>,
  ): Promise<{ sets: Record<string, string>; moreAvailable?: boolean }> {
    const response = await fetch(this.pollUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token()}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal: this.controller.signal,
    });
    if (response.status !== 200) throw new Error(`poll: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as { sets: Record<string, string>; moreAvailable?: boolean };
  }

  start(): void {
    this.loop = (async () => {
      let ack: string[] = [];
      while (!this.stopped) {
        try {
          const answer = await this.pollOnce({
            maxEvents: this.options.maxEvents ?? 100,
            returnImmediately: false,
            ack,
          });
          ack = [];
          for (const [jti, jwt] of Object.entries(answer.sets)) {
            const set = await this.validator.validate(jwt);
            if (set.jti !== jti) throw new SetValidationError('poll key differs from the SET jti');
            this.received.add(set);
            if (this.options.acknowledge !== false) ack.push(jti);
          }
        } catch (error) {
          if (this.stopped) return;
          // Unacknowledged SETs come again in a later poll: no keys yet is not an invalid SET.
          if (error instanceof KeysUnavailableError) this.received.deferred.push(error.message);
          else this.received.invalid.push((error as Error).message);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    await this.loop;
  }
}
