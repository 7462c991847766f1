/**
 * @opencae/resource on the request path: requests per second of a trivial node:http endpoint left
 * unprotected, protected by the OpenCAE guard (verified-token cache warm; revocation and scope checks
 * still run on every request), protected the way bearer middlewares do it today (jose signature
 * verification on every request), and protected by RFC 7662 introspection at the issuer on every
 * request. Plus the memory and lookup cost of 1,000,000 revoked subjects.
 *
 * Three processes, so that only the API's own work shares the API's thread: this one serves the four
 * API variants; a child process runs a real issuer (createIssuer, PGlite in a temporary folder) that
 * mints the access token and answers introspection; another child process generates the load and
 * measures, interleaving the candidates round by round. The same file is the entry of both children
 * (OPENCAE_RESOURCE_BENCH_ROLE says which).
 *
 * Fairness: every variant answers the same JSON body (`{"sub":…}` of the same token) through the same
 * node:http server settings; the load generator writes prebuilt requests on raw keep-alive sockets and
 * parses only the status line and Content-Length, so it costs a fraction of the server's work per
 * request (node:http's own client costs more than the server and was the bottleneck). The CPU each
 * process spent on each candidate is recorded in the method, so a reader can check who saturated.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNodeGuard } from '@opencae/resource/node';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { RevocationState } from '../packages/resource/src/revocation/revocation-state.js';
import {
  type Benchmark,
  defaultMeasureOptions,
  type Measurement,
  type MeasureOptions,
  measureOpsPerSecond,
  percentiles,
} from './harness.js';

const median = (values: number[]) => percentiles(values, [50])[50]!;

const AUDIENCE = 'api://bench';
const ROLE_VARIABLE = 'OPENCAE_RESOURCE_BENCH_ROLE';
/** Requests in flight per measured operation: enough to keep the server busy, as a real load would. */
const CONCURRENCY = 32;

type Candidate = 'unprotected' | 'opencae' | 'jose' | 'introspection';

interface LoadRequest {
  ports: Partial<Record<Candidate, number>>;
  token: string;
  options: MeasureOptions;
}

interface CandidateLoad {
  median: number;
  samples: number[];
  /** Load generator CPU time and wall time spent on this candidate (ms). */
  cpuMs: number;
  wallMs: number;
}

type LoadResult = Partial<Record<Candidate, CandidateLoad>>;

interface IssuerStarted {
  url: string;
  credentials: { client_id: string; client_secret: string };
}

// --- child processes -----------------------------------------------------------------------------

/** Forks this file in a role; resolves with the child once it sent its first message. */
function spawnRole<T>(role: 'issuer' | 'load'): Promise<{ child: ChildProcess; first: T }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx', '--conditions=opencae-source'],
    env: { ...process.env, [ROLE_VARIABLE]: role },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (first) => resolve({ child, first: first as T }));
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the ${role} process exited (${code}) before it was ready`)),
    );
  });
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`the child process exited (${code})`)));
  });
}

/** Child: a real issuer on a free loopback port; reports its URL and the bootstrap admin credentials. */
async function runIssuerRole(): Promise<void> {
  const { createIssuer, ADMIN_CREDENTIALS_FILE } = await import('@opencae/issuer');
  const dataDir = await mkdtemp(join(tmpdir(), 'opencae-bench-issuer-'));
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const issuer = await createIssuer({ issuerUrl: url, port, host: '127.0.0.1', dataDir });
  await issuer.listen();
  const credentials = JSON.parse(await readFile(join(dataDir, ADMIN_CREDENTIALS_FILE), 'utf8'));
  const stop = async () => {
    await issuer.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('disconnect', stop);
  process.send?.({ url, credentials } satisfies IssuerStarted);
}

/** Child: the load generator. Measures every candidate, interleaved, and reports the rates and its CPU. */
async function runLoadRole(): Promise<void> {
  process.send?.('ready');
  const { ports, token, options } = await new Promise<LoadRequest>((resolve) =>
    process.once('message', (message) => resolve(message as LoadRequest)),
  );
  const pipelines = new Map<Candidate, LoadPipeline>();
  const spent = new Map<Candidate, { cpuMs: number; wallMs: number }>();
  const operations: Partial<Record<Candidate, () => Promise<unknown>>> = {};
  for (const [name, port] of Object.entries(ports) as [Candidate, number][]) {
    const pipeline = await LoadPipeline.open(port, token);
    pipelines.set(name, pipeline);
    const account = { cpuMs: 0, wallMs: 0 };
    spent.set(name, account);
    operations[name] = async () => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await pipeline.operation();
      const used = process.cpuUsage(cpu);
      account.cpuMs += (used.user + used.system) / 1000;
      account.wallMs += performance.now() - start;
    };
  }
  const rates = await measureOpsPerSecond(operations as Record<Candidate, () => Promise<unknown>>, options);
  for (const pipeline of pipelines.values()) pipeline.close();
  const result: LoadResult = {};
  for (const [name, rate] of Object.entries(rates) as [Candidate, { median: number; samples: number[] }][])
    result[name] = { ...rate, ...spent.get(name)! };
  process.send?.(result, () => process.exit(0));
}

/**
 * CONCURRENCY raw keep-alive connections to one API variant, each with one request in flight while an
 * operation waits (a closed loop, no barrier between requests). An operation completes after
 * CONCURRENCY more responses; responses beyond it count toward the next one, so none is lost or counted
 * twice. A connection whose response arrives while no operation waits stays idle until the next one.
 * Any status but 200, or a response this minimal parser cannot frame, fails the run.
 */
class LoadPipeline {
  #completed = 0;
  #target = 0;
  #waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly #idle: Socket[] = [];
  readonly #sockets: Socket[] = [];

  private constructor(private readonly request: Buffer) {}

  static async open(port: number, token: string): Promise<LoadPipeline> {
    const request = Buffer.from(
      `GET /me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: keep-alive\r\n\r\n`,
      'latin1',
    );
    const pipeline = new LoadPipeline(request);
    await Promise.all(Array.from({ length: CONCURRENCY }, () => pipeline.#connect(port)));
    return pipeline;
  }

  #connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
        this.#sockets.push(socket);
        this.#idle.push(socket);
        resolve();
      });
      let buffered: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        // One request in flight per connection: at most one response is framed per exchange.
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.toString('latin1', 0, end);
        const status = head.slice(9, 12);
        if (status !== '200') return this.#fail(new Error(`HTTP ${status}`));
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!length) return this.#fail(new Error(`a response without Content-Length: ${head}`));
        const total = end + 4 + Number(length[1]);
        if (buffered.length < total) return;
        if (buffered.length > total) return this.#fail(new Error('more bytes than one response'));
        buffered = Buffer.alloc(0);
        this.#completed++;
        if (this.#waiter && this.#completed >= this.#target) {
          const { resolve } = this.#waiter;
          this.#waiter = undefined;
          resolve();
        }
        if (this.#waiter) socket.write(this.request);
        else this.#idle.push(socket);
      });
      socket.on('error', (error) => {
        reject(error);
        this.#fail(error);
      });
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  /** Resolves after CONCURRENCY more responses. */
  operation(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#target += CONCURRENCY;
    if (this.#completed >= this.#target) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    for (const socket of this.#idle.splice(0)) socket.write(this.request);
    return waiting;
  }

  close(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

// --- the API variants (this process) -------------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Variant {
  server: Server;
  port: number;
  /** Requests answered, for attributing this process's CPU to the candidate being measured. */
  requests: number;
}

async function listen(handler: Handler): Promise<Variant> {
  const variant = { requests: 0 } as Variant;
  variant.server = createServer((req, res) => {
    variant.requests++;
    Promise.resolve(handler(req, res)).catch(() => {
      res.writeHead(500).end();
    });
  });
  // The same for every variant: idle keep-alive connections survive the other candidates' slices.
  variant.server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => variant.server.listen(0, '127.0.0.1', resolve));
  variant.port = (variant.server.address() as AddressInfo).port;
  return variant;
}

interface ApiCpu {
  cpuMs: number;
  wallMs: number;
  /** Requests answered in the intervals attributed to the candidate. */
  requests: number;
}

/**
 * This process's CPU per candidate: sampled every 100 ms and attributed to the variant that answered
 * most requests in the interval (the load generator measures one candidate at a time).
 */
function accountCpu(variants: Partial<Record<Candidate, Variant>>): {
  stop(): Partial<Record<Candidate, ApiCpu>>;
} {
  const spent: Partial<Record<Candidate, ApiCpu>> = {};
  const last = new Map<Candidate, number>();
  let cpu = process.cpuUsage();
  let at = performance.now();
  const timer = setInterval(() => {
    const used = process.cpuUsage(cpu);
    const now = performance.now();
    let busiest: Candidate | undefined;
    let most = 0;
    for (const [name, variant] of Object.entries(variants) as [Candidate, Variant][]) {
      const served = variant.requests - (last.get(name) ?? 0);
      last.set(name, variant.requests);
      if (served > most) {
        most = served;
        busiest = name;
      }
    }
    if (busiest) {
      const account = spent[busiest] ?? { cpuMs: 0, wallMs: 0, requests: 0 };
      spent[busiest] = account;
      account.cpuMs += (used.user + used.system) / 1000;
      account.wallMs += now - at;
      account.requests += most;
    }
    cpu = process.cpuUsage();
    at = now;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return spent;
    },
  };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The one response of every variant (with its length, so the load generator can frame it simply). */
function ok(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

async function heapUsed(): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** JSON over HTTP to the issuer; throws with the answer when it is not 2xx. */
async function issuerCall(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${url} → HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function clientCredentialsToken(
  issuer: string,
  client: { id: string; secret: string },
  scope: string,
  claims?: object,
): Promise<string> {
  const body = await issuerCall(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: basic(client.id, client.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope,
      ...(claims ? { claims: JSON.stringify(claims) } : {}),
    }),
  });
  return String(body.access_token);
}

/**
 * Registers the API, a CAE-capable daemon that calls it, and the API's own client (it authenticates to
 * the introspection endpoint), through the admin API; returns the daemon's access token.
 */
async function provision(started: IssuerStarted) {
  const { url } = started;
  const adminToken = await clientCredentialsToken(
    url,
    { id: started.credentials.client_id, secret: started.credentials.client_secret },
    'urn:opencae:admin/.default',
  );
  const admin = (method: string, path: string, body: unknown) =>
    issuerCall(`${url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await admin('POST', '/apis', { audience: AUDIENCE, cae_enabled: true, app_roles: ['Bench.Read'] });
  const daemon = (await admin('POST', '/applications', {
    name: 'bench daemon',
    grants: [{ api: AUDIENCE, roles: ['Bench.Read'] }],
  })) as { application: { client_id: string }; client_secret: { value: string } };
  // The issuer lets a client introspect only tokens for an API its application is granted on.
  const apiClient = (await admin('POST', '/applications', {
    name: 'bench API (introspection)',
    grants: [{ api: AUDIENCE, roles: ['Bench.Read'] }],
  })) as {
    application: { client_id: string };
    client_secret: { value: string };
  };
  const token = await clientCredentialsToken(
    url,
    { id: daemon.application.client_id, secret: daemon.client_secret.value },
    `${AUDIENCE}/.default`,
    { access_token: { xms_cc: { values: ['cp1'] } } },
  );
  return {
    token,
    introspectionAuth: basic(apiClient.application.client_id, apiClient.client_secret.value),
  };
}

export default {
  name: 'resource',
  description:
    'Requests/s of a trivial node:http endpoint: unprotected vs OpenCAE guard (warm cache) vs per-request jose verification vs RFC 7662 introspection at a real issuer; memory and lookups with 1,000,000 revoked subjects.',
  async run(ctx) {
    const options = defaultMeasureOptions(ctx);
    // More, shorter rounds for the HTTP candidates: the paired per-round ratios need many pairs.
    const httpOptions = ctx.quick ? options : { durationMs: 10_000, warmupMs: 1000, rounds: 20 };
    const describe = (o: MeasureOptions) =>
      `median of ${o.rounds} interleaved rounds of ${Math.round(o.durationMs / o.rounds)} ms per candidate after ${o.warmupMs} ms warm-up`;
    const measurements: Measurement[] = [];

    const issuer = await spawnRole<IssuerStarted>('issuer');
    const issuerUrl = issuer.first.url;
    const servers: Partial<Record<Candidate, Variant>> = {};
    let authenticate: ReturnType<typeof createNodeGuard> | undefined;
    let load: { child: ChildProcess } | undefined;
    try {
      const { token, introspectionAuth } = await provision(issuer.first);
      const introspectionUrl = `${issuerUrl}/token/introspection`;
      const introspect = async (accessToken: string) =>
        issuerCall(introspectionUrl, {
          method: 'POST',
          headers: { authorization: introspectionAuth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
        });
      const introspectionWorks = (await introspect(token)).active === true;
      if (!introspectionWorks) {
        console.warn(
          "\n  resource: the issuer's introspection endpoint answers active:false for its own valid JWT" +
            ' access token; the introspection candidate is not measured (see the token service).\n',
        );
      }

      authenticate = createNodeGuard({
        issuer: issuerUrl,
        audience: AUDIENCE,
        requiredRoles: ['Bench.Read'],
      });
      const guard = authenticate;
      // Realistic state: other subjects are revoked, so the per-request check looks up a non-empty store.
      await guard.guard.store.apply(
        Array.from({ length: 10_000 }, (_, i) => ({
          key: `p:other-${i}`,
          at: 1,
          revokeBefore: Math.floor(Date.now() / 1000),
        })),
      );
      const keySet = createLocalJWKSet(
        (await issuerCall(`${issuerUrl}/jwks`, {})) as unknown as Parameters<typeof createLocalJWKSet>[0],
      );

      // Every variant answers this same body: the token's subject.
      const subject = String(decodeJwt(token).sub);
      servers.unprotected = await listen((_req, res) => ok(res, { sub: subject }));
      servers.opencae = await listen(async (req, res) => {
        const auth = await guard(req, res);
        if (auth) ok(res, { sub: auth.claims.sub });
      });
      // What a typical bearer middleware does: a signature check per request (keys cached in memory).
      servers.jose = await listen(async (req, res) => {
        try {
          const { payload } = await jwtVerify((req.headers.authorization ?? '').slice(7), keySet, {
            issuer: issuerUrl,
            audience: AUDIENCE,
            algorithms: ['RS256'],
            typ: 'at+jwt',
          });
          ok(res, { sub: payload.sub });
        } catch {
          res.writeHead(401).end();
        }
      });
      // RFC 7662: the API asks the issuer about the token on every request (keep-alive connections).
      if (introspectionWorks) {
        servers.introspection = await listen(async (req, res) => {
          const answer = await introspect((req.headers.authorization ?? '').slice(7)).catch(() => undefined);
          const audiences = [answer?.aud].flat();
          if (answer?.active === true && audiences.includes(AUDIENCE)) ok(res, { sub: answer.sub });
          else res.writeHead(401).end();
        });
      }

      const ports = Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.port]));
      // Fills the token cache and the JWKS before measuring.
      const warm = await fetch(`http://127.0.0.1:${servers.opencae.port}/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (warm.status !== 200)
        throw new Error(`the OpenCAE guard refused the issuer's token: HTTP ${warm.status}`);

      const loader = await spawnRole<'ready'>('load');
      load = loader;
      const finished = nextMessage<LoadResult>(loader.child);
      const cpu = accountCpu(servers);
      loader.child.send({ ports, token, options: httpOptions } satisfies LoadRequest);
      const rates = await finished;
      const apiCpu = cpu.stop();

      const method = `load from a separate process (${CONCURRENCY} raw keep-alive connections, one GET in flight on each, closed loop); the API variants share one process (node:http, same response body); a real OpenCAE issuer (PGlite) in a third process; RS256 at+jwt from the issuer; ${describe(httpOptions)}; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores at the end`;
      const all: Partial<Record<Candidate, number>> = {};
      for (const [name, rate] of Object.entries(rates) as [Candidate, CandidateLoad][])
        all[name] = rate.median * CONCURRENCY;
      const share = (spent: { cpuMs: number; wallMs: number } | undefined) =>
        spent && spent.wallMs > 0 ? `${Math.round((spent.cpuMs / spent.wallMs) * 100)}%` : 'n/a';
      const cpuNote = (name: Candidate) =>
        `; CPU while measured: API process ${share(apiCpu[name])} of a core, load generator ${share(rates[name])}`;
      const names: Record<Candidate, string> = {
        unprotected: 'resource.http.unprotected',
        opencae: 'resource.http.opencae',
        jose: 'resource.http.jose-per-request',
        introspection: 'resource.http.introspection',
      };
      const detail: Record<Candidate, string> = {
        unprotected: '',
        opencae:
          '; guard with warm verified-token cache, revocation (10,000 other revoked subjects), role check on every request',
        jose: '; jose jwtVerify (RS256, local JWKS) on every request',
        introspection:
          '; RFC 7662 POST to the issuer per request (client_secret_basic), active and aud checked',
      };
      for (const [name, value] of Object.entries(all) as [Candidate, number][]) {
        measurements.push({
          name: names[name],
          metric: 'throughput',
          value,
          unit: 'req/s',
          peers: Object.fromEntries(
            (Object.entries(all) as [Candidate, number][])
              .filter(([peer]) => peer !== name)
              .map(([peer, v]) => [names[peer], v]),
          ),
          method: `${method}${detail[name]}${cpuNote(name)}`,
        });
      }
      // CPU the API process spends per request: unlike req/s on a shared machine, it does not depend on
      // how the scheduler shares the cores (jose's WebCrypto verification also runs on libuv threads).
      for (const name of Object.keys(all) as Candidate[]) {
        const spent = apiCpu[name];
        if (!spent || spent.requests === 0) continue;
        measurements.push({
          name: `${names[name]}.cpu-per-request`,
          metric: 'cpu',
          value: Math.round((spent.cpuMs / spent.requests) * 10_000) / 10,
          unit: 'µs/req',
          method: `API process CPU time (all its threads; process.cpuUsage sampled every 100 ms, each interval attributed to the candidate that answered most requests in it) / the requests answered in those intervals, same run${name === 'introspection' ? "; the issuer's own CPU is not included" : ''}`,
        });
      }
      // Paired per round (measured back to back), so load drift on a shared machine cancels out.
      const pairedRatio = (a: Candidate, b: Candidate) => {
        const [x, y] = [rates[a]?.samples, rates[b]?.samples];
        if (!x || !y) return undefined;
        return median(x.map((rate, round) => rate / (y[round] ?? Number.NaN)));
      };
      const targets: [Candidate, number][] = [
        ['unprotected', 0.9],
        ['jose', 3],
        ['introspection', 10],
      ];
      for (const [peer, target] of targets) {
        const ratio = pairedRatio('opencae', peer);
        if (ratio === undefined) continue;
        measurements.push({
          name: `resource.http.ratio.opencae-vs-${peer}`,
          metric: 'ratio',
          value: Math.round(ratio * 1000) / 1000,
          unit: `opencae/${peer}`,
          method: `median over ${httpOptions.rounds} rounds of the OpenCAE rate / the ${peer} rate measured in the same round (ratio of the medians: ${((all.opencae ?? 0) / (all[peer] ?? Number.NaN)).toFixed(3)}); target ≥ ${target}`,
        });
      }
    } finally {
      load?.child.kill();
      await Promise.all(Object.values(servers).map((s) => close(s.server)));
      await authenticate?.guard.close();
      issuer.child.disconnect();
      await new Promise((resolve) =>
        issuer.child.exitCode === null ? issuer.child.once('exit', resolve) : resolve(undefined),
      );
    }

    // --- 1,000,000 revoked subjects ------------------------------------------------------------
    const SUBJECTS = 1_000_000;
    const now = Math.floor(Date.now() / 1000);
    const keys = Array.from({ length: SUBJECTS }, () => `p:${randomUUID()}`);
    const before = await heapUsed();
    const state = new RevocationState(28 * 3600 + 60);
    const applyStart = performance.now();
    for (let i = 0; i < SUBJECTS; i++)
      state.apply({ key: keys[i]!, at: now - (i % 3600), revokeBefore: now - (i % 3600) }, now);
    const applySeconds = (performance.now() - applyStart) / 1000;
    const after = await heapUsed();
    const bytes = after - before;
    let i = 0;
    const lookupOptions = { ...options, rounds: Math.min(options.rounds, 3) };
    const lookups = await measureOpsPerSecond(() => {
      i = (i + 7919) % SUBJECTS;
      return state.revokedBefore(keys[i]!) + state.disabledSince(keys[i]!);
    }, lookupOptions);
    measurements.push(
      {
        name: 'resource.revocation.memory-1m',
        metric: 'heap',
        value: bytes / 1024 / 1024,
        unit: 'MiB',
        method: `V8 heap used after forced GC, before vs after applying ${SUBJECTS.toLocaleString('en')} revocations (UUID subject keys, keys themselves excluded as they exist before); ${(bytes / SUBJECTS).toFixed(0)} bytes per subject`,
      },
      {
        name: 'resource.revocation.apply-1m',
        metric: 'throughput',
        value: SUBJECTS / applySeconds,
        unit: 'changes/s',
        method: `one pass applying ${SUBJECTS.toLocaleString('en')} revocation changes to the in-memory state`,
      },
      {
        name: 'resource.revocation.lookup-1m',
        metric: 'throughput',
        value: lookups.median,
        unit: 'checks/s',
        method: `revokedBefore + disabledSince for a pseudo-random subject among ${SUBJECTS.toLocaleString('en')}; ${describe(lookupOptions)}`,
      },
    );
    if (state.size !== SUBJECTS) throw new Error('benchmark state is incomplete');
    return measurements;
  },
} satisfies Benchmark;

const role = process.env[ROLE_VARIABLE];
if (role === 'issuer') await runIssuerRole();
else if (role === 'load') await runLoadRole();
