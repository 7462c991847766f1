/**
 * @opencae/resource on the request path: requests per second of a trivial node:http endpoint left
 * unprotected, protected by the OpenCAE guard (verified-token cache warm; revocation and scope checks
 * still run on every request), and protected the way bearer middlewares do it today (jose signature
 * verification on every request). Plus the memory and lookup cost of 1,000,000 revoked subjects.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNodeGuard } from '@opencae/resource/node';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { RevocationState } from '../packages/resource/src/revocation/revocation-state.js';
import { type Benchmark, defaultMeasureOptions, type Measurement, measureOpsPerSecond } from './harness.js';

const AUDIENCE = 'api://bench';
/** Requests in flight per measured operation: enough to keep the server busy, as a real load would. */
const CONCURRENCY = 32;

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One GET over a kept-alive connection; rejects unless the status is 200. */
function get(port: number, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, path: '/me', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function burst(port: number, token: string): Promise<unknown> {
  return Promise.all(Array.from({ length: CONCURRENCY }, () => get(port, token)));
}

function ok(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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

export default {
  name: 'resource',
  description:
    'Requests/s of a trivial node:http endpoint: unprotected vs OpenCAE guard (warm cache) vs per-request jose verification; memory and lookups with 1,000,000 revoked subjects.',
  async run(ctx) {
    const options = defaultMeasureOptions(ctx);
    const interleaving = `median of ${options.rounds} interleaved rounds, ${options.durationMs} ms per candidate after ${options.warmupMs} ms warm-up`;

    // An issuer on loopback: discovery and JWKS, and an RS256 at+jwt access token (CAE-capable, 1 h).
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let issuerUrl = '';
    const issuer = await listen((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        return ok(res, {
          issuer: issuerUrl,
          jwks_uri: `${issuerUrl}/jwks`,
          authorization_endpoint: `${issuerUrl}/authorize`,
        });
      }
      if (req.url === '/jwks') return ok(res, { keys: [jwk] });
      res.writeHead(404).end();
    });
    issuerUrl = `http://127.0.0.1:${issuer.port}`;
    const token = await new SignJWT({
      sub: 'user-1',
      oid: 'user-1',
      sid: 's-1',
      tid: 't-1',
      scp: 'read',
      xms_cc: ['cp1'],
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(issuerUrl)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti(randomUUID())
      .sign(privateKey);

    const authenticate = createNodeGuard({ issuer: issuerUrl, audience: AUDIENCE, requiredScopes: ['read'] });
    // Realistic state: other subjects are revoked, so the per-request check looks up a non-empty store.
    await authenticate.guard.store.apply(
      Array.from({ length: 10_000 }, (_, i) => ({
        key: `p:other-${i}`,
        at: 1,
        revokeBefore: Math.floor(Date.now() / 1000),
      })),
    );
    const keySet = createLocalJWKSet({ keys: [jwk] });

    const servers = {
      unprotected: await listen((_req, res) => ok(res, { sub: 'anonymous' })),
      opencae: await listen(async (req, res) => {
        const auth = await authenticate(req, res);
        if (auth) ok(res, { sub: auth.claims.sub });
      }),
      // What a typical bearer middleware does: a signature check per request (keys cached in memory).
      jose: await listen(async (req, res) => {
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
      }),
    };

    const measurements: Measurement[] = [];
    try {
      await burst(servers.opencae.port, token); // fills the token cache and the JWKS
      const rates = await measureOpsPerSecond(
        {
          unprotected: () => burst(servers.unprotected.port, token),
          opencae: () => burst(servers.opencae.port, token),
          jose: () => burst(servers.jose.port, token),
        },
        options,
      );
      const rps = (name: keyof typeof rates) => rates[name].median * CONCURRENCY;
      const method = `in-process keep-alive HTTP client, ${CONCURRENCY} concurrent GETs per operation, client and server sharing the process; ${interleaving}`;
      const all = { unprotected: rps('unprotected'), opencae: rps('opencae'), jose: rps('jose') };
      const peersOf = (name: keyof typeof all) =>
        Object.fromEntries(
          Object.entries(all)
            .filter(([peer]) => peer !== name)
            .map(([peer, v]) => [`resource.http.${peer}`, v]),
        );
      measurements.push(
        {
          name: 'resource.http.unprotected',
          metric: 'throughput',
          value: all.unprotected,
          unit: 'req/s',
          peers: peersOf('unprotected'),
          method,
        },
        {
          name: 'resource.http.opencae',
          metric: 'throughput',
          value: all.opencae,
          unit: 'req/s',
          peers: peersOf('opencae'),
          method: `${method}; guard with warm verified-token cache, revocation (10,000 other revoked subjects), scope check on every request`,
        },
        {
          name: 'resource.http.jose-per-request',
          metric: 'throughput',
          value: all.jose,
          unit: 'req/s',
          peers: peersOf('jose'),
          method: `${method}; jose jwtVerify (RS256, local JWKS) on every request`,
        },
      );
    } finally {
      await Promise.all(Object.values(servers).map((s) => close(s.server)));
      await authenticate.guard.close();
      await close(issuer.server);
      agent.destroy();
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
    const lookups = await measureOpsPerSecond(
      () => {
        i = (i + 7919) % SUBJECTS;
        return state.revokedBefore(keys[i]!) + state.disabledSince(keys[i]!);
      },
      { ...options, rounds: Math.min(options.rounds, 3) },
    );
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
        method: `revokedBefore + disabledSince for a pseudo-random subject among ${SUBJECTS.toLocaleString('en')}; ${interleaving}`,
      },
    );
    if (state.size !== SUBJECTS) throw new Error('benchmark state is incomplete');
    return measurements;
  },
} satisfies Benchmark;
