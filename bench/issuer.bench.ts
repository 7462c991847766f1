/**
 * Client-credentials token issuance for a CAE-capable client (claims with cp1, Entra-style
 * `.default` scope, CAE-enabled API): OpenCAE's issuer against a bare oidc-provider minting the same
 * JWT (same claims, RS256 2048, typ at+jwt) on the same machine, measured side by side in
 * interleaved rounds. Both are real HTTP servers on loopback, driven with the same concurrency.
 *
 * What OpenCAE adds per token: client secret check against stored digests, current-state
 * evaluation of the service principal, the API and grant lookup, the CAE lifetime decision and the
 * claims, each read from the database (PGlite here, in-process) at every request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { Provider } from 'oidc-provider';
import { seedApi, seedApplication } from '../packages/issuer/src/token-service/test-fixtures.js';
import { startTestIssuer } from '../packages/issuer/src/token-service/test-server.js';
import { createTestDatabase } from '../test/support/services.js';
import {
  type Benchmark,
  defaultMeasureOptions,
  type Measurement,
  measureOpsPerSecond,
  medianInterval,
  percentiles,
} from './harness.js';

const AUDIENCE = 'api://orders';
const CLAIMS = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
/** Requests in flight per candidate: enough to keep a server busy without queueing for long. */
const CONCURRENCY = 8;

async function startBareProvider(): Promise<{
  url: string;
  clientId: string;
  secret: string;
  close(): Promise<void>;
}> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const clientId = 'bench-client';
  const secret = 'bench-secret-that-is-long-enough-0123456789';
  const provider = new Provider('https://bare.bench.test', {
    clients: [
      {
        client_id: clientId,
        client_secret: secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [jwk as never] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        getResourceServerInfo: () => ({
          scope: `${AUDIENCE}/.default`,
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 24 * 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    formats: {
      customizers: {
        // The same claims OpenCAE puts in, as constants.
        jwt(_ctx, _token, jwt) {
          const payload = jwt.payload as Record<string, unknown>;
          delete payload.scope;
          Object.assign(payload, {
            oid: '00000000-0000-4000-8000-000000000001',
            tid: '00000000-0000-4000-8000-000000000002',
            idtyp: 'app',
            azp: clientId,
            roles: ['Orders.Read.All'],
            ipaddr: '127.0.0.1',
            xms_cc: ['cp1'],
            nbf: payload.iat,
          });
        },
      },
    },
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    secret,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Answers every request with a fixed token response, after reading the body: what the load generator
 * and node:http cost per token on their own, to tell the servers' CPU from the harness's.
 */
async function startNullServer(tokenResponse: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(tokenResponse);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const median = (values: number[]): number => percentiles(values, [50])[50] ?? Number.NaN;

/** Process CPU (all threads: event loop, database thread, GC helpers, crypto pool) spent in a candidate's calls. */
interface CpuMeter {
  microseconds: number;
  tokens: number;
}

function metered(call: () => Promise<void>, meter: CpuMeter, tokens = CONCURRENCY): () => Promise<void> {
  return async () => {
    const start = process.cpuUsage();
    await call();
    const used = process.cpuUsage(start);
    meter.microseconds += used.user + used.system;
    meter.tokens += tokens;
  };
}

const MEASUREMENT = {
  opencae: 'issuer.client-credentials.opencae',
  unlogged: 'issuer.client-credentials.opencae-without-sign-in-log',
  bare: 'issuer.client-credentials.bare-oidc-provider',
  harness: 'issuer.client-credentials.load-generator-only',
} as const;

const perToken = (meter: CpuMeter) => Math.round(meter.microseconds / Math.max(1, meter.tokens));

/** The client-credentials request every candidate gets (client_secret_basic, cp1 in claims). */
function tokenRequestInit(clientId: string, secret: string): RequestInit {
  return {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: `${AUDIENCE}/.default`,
      claims: CLAIMS,
    }).toString(),
  };
}

/** One real token response of `baseUrl`, as the body the null server sends back. */
async function tokenResponseOf(baseUrl: string, clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${baseUrl}/token`, tokenRequestInit(clientId, secret));
  if (response.status !== 200) throw new Error(`token request failed: ${response.status}`);
  return response.text();
}

function tokenRequest(baseUrl: string, clientId: string, secret: string): () => Promise<void> {
  const init = tokenRequestInit(clientId, secret);
  const one = async () => {
    const response = await fetch(`${baseUrl}/token`, init);
    const json = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || !json.access_token)
      throw new Error(`token request failed: ${response.status}`);
  };
  return async () => {
    await Promise.all(Array.from({ length: CONCURRENCY }, one));
  };
}

export default {
  name: 'issuer',
  description:
    'Client-credentials tokens/s for a CAE-capable client: OpenCAE issuer vs bare oidc-provider issuing the same JWT, side by side.',
  async run(ctx): Promise<Measurement[]> {
    // OPENCAE_BENCH_DATABASE_URL: measure on a PostgreSQL server instead of embedded PGlite.
    const serverUrl = process.env.OPENCAE_BENCH_DATABASE_URL;
    const database = serverUrl ? await createTestDatabase(serverUrl) : undefined;
    const engine = database ? 'PostgreSQL' : 'PGlite';
    const opencae = await startTestIssuer({ databaseUrl: database?.url });
    // The same issuer without its sign-in log, to show what the log's insert costs (PGlite only:
    // a second in-memory store, not a second PostgreSQL database).
    const unlogged = await startTestIssuer({ signInLog: false });
    const bare = await startBareProvider();
    let harness: Awaited<ReturnType<typeof startNullServer>> | undefined;
    try {
      const seed = async (db: typeof opencae.issuer.context.db) => {
        const api = await seedApi(db, {
          audience: AUDIENCE,
          caeEnabled: true,
          appRoles: ['Orders.Read.All'],
        });
        return seedApplication(db, { grants: [{ api, roles: ['Orders.Read.All'] }] });
      };
      const app = await seed(opencae.issuer.context.db);
      const unloggedApp = await seed(unlogged.issuer.context.db);
      harness = await startNullServer(await tokenResponseOf(bare.url, bare.clientId, bare.secret));
      // Many interleaved rounds: on a shared machine the load drifts, and each round's pair of slices
      // (one per candidate, back to back) sees about the same load. Per-round ratios still scatter
      // (0.6–1.2 seen within one run), so 60 rounds, and the median's 95% interval is reported with it
      // (about ±0.05 here). Slices stay 500 ms: shorter ones would charge more of the
      // issuer's deferred work (log flush, garbage) to the candidate measured after it.
      const options = ctx.quick
        ? defaultMeasureOptions(ctx)
        : { ...defaultMeasureOptions(ctx), durationMs: 30_000, rounds: 60 };
      const cpu = {
        opencae: { microseconds: 0, tokens: 0 },
        unlogged: { microseconds: 0, tokens: 0 },
        bare: { microseconds: 0, tokens: 0 },
        harness: { microseconds: 0, tokens: 0 },
      };
      const resetCpu = () => {
        for (const meter of Object.values(cpu)) Object.assign(meter, { microseconds: 0, tokens: 0 });
      };
      const results = await measureOpsPerSecond(
        {
          opencae: metered(tokenRequest(opencae.baseUrl, app.clientId, app.clientSecret!), cpu.opencae),
          unlogged: metered(
            tokenRequest(unlogged.baseUrl, unloggedApp.clientId, unloggedApp.clientSecret!),
            cpu.unlogged,
          ),
          bare: metered(tokenRequest(bare.url, bare.clientId, bare.secret), cpu.bare),
          harness: metered(tokenRequest(harness.url, bare.clientId, bare.secret), cpu.harness),
        },
        {
          ...options,
          onMeasureStart: resetCpu,
          // The sign-in log inserts in batches, up to 100 ms after a token: the rows left at the end
          // of OpenCAE's slice are written (and timed) in that slice, not in the next candidate's.
          settle: { opencae: metered(() => opencae.signInLog().flush(), cpu.opencae, 0) },
        },
      );
      const opencaeRate = results.opencae.median * CONCURRENCY;
      const unloggedRate = results.unlogged.median * CONCURRENCY;
      const bareRate = results.bare.median * CONCURRENCY;
      const pairedRatios = results.opencae.samples.map(
        (rate, round) => rate / (results.bare.samples[round] ?? Number.NaN),
      );
      const pairedRatio = median(pairedRatios);
      const interval = medianInterval(pairedRatios);
      const unloggedRatio = median(
        results.unlogged.samples.map((rate, round) => rate / (results.bare.samples[round] ?? Number.NaN)),
      );
      const serverCpuRatio =
        (perToken(cpu.bare) - perToken(cpu.harness)) / (perToken(cpu.opencae) - perToken(cpu.harness));
      const method = `HTTP POST /token over loopback, ${CONCURRENCY} requests in flight, client_secret_basic, scope ${AUDIENCE}/.default, claims with cp1; ${options.rounds} interleaved rounds of ${Math.round(options.durationMs / options.rounds)} ms per candidate, median of per-round rates`;
      return [
        {
          name: 'issuer.client-credentials.opencae',
          metric: 'throughput',
          value: Math.round(opencaeRate),
          unit: 'tokens/s',
          peers: { 'issuer.client-credentials.bare-oidc-provider': Math.round(bareRate) },
          method: `${method}; OpenCAE evaluates current state on ${engine} at every request; each OpenCAE slice ends with its sign-in log flushed, timed in the slice`,
        },
        {
          name: 'issuer.client-credentials.opencae-without-sign-in-log',
          metric: 'throughput',
          value: Math.round(unloggedRate),
          unit: 'tokens/s',
          peers: {
            'issuer.client-credentials.bare-oidc-provider': Math.round(bareRate),
            'issuer.client-credentials.opencae': Math.round(opencaeRate),
          },
          method: `${method}; the same issuer without the logs module (no sign-in log insert per token), PGlite`,
        },
        {
          name: 'issuer.client-credentials.bare-oidc-provider',
          metric: 'throughput',
          value: Math.round(bareRate),
          unit: 'tokens/s',
          method: `${method}; static client, in-memory, constant claims`,
        },
        {
          name: 'issuer.client-credentials.ratio',
          metric: 'ratio',
          value: Math.round(pairedRatio * 1000) / 1000,
          unit: 'opencae/bare',
          method: `median over rounds of OpenCAE rate / bare oidc-provider rate measured back to back in the same round (ratio of the medians: ${(opencaeRate / bareRate).toFixed(3)}); ${interval ? `95% confidence interval of the median ${interval.low.toFixed(3)}–${interval.high.toFixed(3)} (sign test over ${pairedRatios.length} rounds); ` : ''}${engine}; target ≥ 0.8`,
        },
        ...(interval
          ? [
              {
                name: 'issuer.client-credentials.ratio.lower-95',
                metric: 'ratio',
                value: Math.round(interval.low * 1000) / 1000,
                unit: 'opencae/bare',
                method: `lower end of the distribution-free 95% confidence interval (coverage ${interval.coverage.toFixed(3)}) of the paired median ratio above, from the order statistics of its ${pairedRatios.length} per-round ratios`,
              },
            ]
          : []),
        {
          name: 'issuer.client-credentials.ratio-without-sign-in-log',
          metric: 'ratio',
          value: Math.round(unloggedRatio * 1000) / 1000,
          unit: 'opencae/bare',
          method: `as the ratio above, for the issuer without its sign-in log (ratio of the medians: ${(unloggedRate / bareRate).toFixed(3)}); PGlite`,
        },
        ...(['opencae', 'unlogged', 'bare', 'harness'] as const).map((candidate) => ({
          name: `${MEASUREMENT[candidate]}.cpu-per-token`,
          metric: 'cpu',
          value: perToken(cpu[candidate]),
          unit: 'µs/token',
          method:
            candidate === 'harness'
              ? 'the same load against a node:http server answering every request with a fixed token response (a real one of the bare provider): what the load generator (fetch) and node:http cost per token, included in every candidate’s figure'
              : 'process CPU time (all threads: event loop, database thread, GC helpers, crypto pool) measured around each of the candidate’s calls (and, for OpenCAE, the sign-in log flush ending each of its slices) after warm-up, over the tokens they got; includes the in-process load generator’s share, the same for every candidate; garbage a candidate leaves may still be collected during the next one',
        })),
        {
          name: 'issuer.client-credentials.server-cpu-ratio',
          metric: 'ratio',
          value: Math.round(serverCpuRatio * 1000) / 1000,
          unit: 'bare/opencae',
          method: `CPU per token of the bare provider / of OpenCAE, each minus the load generator's (${perToken(cpu.harness)} µs): ${perToken(cpu.bare) - perToken(cpu.harness)} vs ${perToken(cpu.opencae) - perToken(cpu.harness)} µs per token spent by the servers themselves. Lower than the throughput ratio, which the shared load generator's CPU dilutes`,
        },
      ];
    } finally {
      await opencae.close();
      await unlogged.close();
      await bare.close();
      await harness?.close();
      await database?.drop();
    }
  },
} satisfies Benchmark;
