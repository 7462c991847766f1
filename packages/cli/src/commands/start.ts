/**
 * `opencae start`: runs an issuer until Ctrl-C / SIGTERM, then closes it cleanly. On a loopback
 * development issuer it also seeds the demo tenant and runs the sample CAE-enabled API in a child
 * process (`--no-demo` for the issuer alone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { Issuer } from '@opencae/issuer';
import type { Command } from 'commander';
import { AdminClient } from '../admin-client.js';
import { resolveConnection } from '../connection.js';
import type { DemoTenant, DemoUser } from '../demo-tenant/demo-file.js';
import { seedDemoTenant } from '../demo-tenant/seed.js';
import { startBanner } from '../demo-tenant/tour.js';
import { CliError, UsageError } from '../errors.js';
import { type CliIo, processStopSignal } from '../io.js';
import { type SampleApiProcess, startSampleApiProcess } from '../processes/sample-api.js';
import type { CliDependencies } from './admin-command.js';

export interface StartOptions {
  port?: string;
  host?: string;
  data?: string;
  issuerUrl?: string;
  databaseUrl?: string;
  apiPort?: string;
  demo?: boolean;
  trustProxy?: string;
  metricsTokenFile?: string;
  secretsKeyFile?: string;
}

export interface StartConfig {
  port: number;
  host: string;
  dataDir: string;
  issuerUrl: string;
  databaseUrl?: string;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-* headers are believed; none by default. */
  trustProxy: string[];
  devMode: boolean;
  /** Seed the demo tenant and run the sample API. */
  demo: boolean;
  /** Port of the sample API (0: any free port). */
  apiPort: number;
  /** The sample API's shared revocation state (REDIS_URL). */
  redisUrl?: string;
  /** The bearer token of `GET /metrics` (none: the endpoint is off). A secret: never printed. */
  metricsToken?: string;
  /** The key ring that encrypts secrets at rest (`<id>:<base64>,...`). A secret: never printed. */
  secretsKeys?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function portNumber(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new UsageError(`${flag} must be a port number, not "${text}"`);
  return port;
}

/**
 * Flags win over the environment (PORT, OPENCAE_DATA, OPENCAE_ISSUER_URL, DATABASE_URL,
 * OPENCAE_METRICS_TOKEN, OPENCAE_SECRETS_KEY), then defaults.
 */
export function resolveStartConfig(
  options: StartOptions,
  env: Record<string, string | undefined>,
): StartConfig {
  const port = portNumber(options.port ?? env.PORT ?? '8080', '--port');
  const host = options.host ?? '127.0.0.1';
  const issuerUrl = (options.issuerUrl ?? env.OPENCAE_ISSUER_URL ?? `http://127.0.0.1:${port}`).replace(
    /\/+$/,
    '',
  );
  let url: URL;
  try {
    url = new URL(issuerUrl);
  } catch {
    throw new UsageError(`--issuer-url must be an absolute URL, not "${issuerUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError('--issuer-url must be http(s)');
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  const trustProxy = parseTrustProxy(options.trustProxy ?? env.OPENCAE_TRUST_PROXY);
  // Development conveniences (http loopback push URLs and redirect URIs) only on a loopback issuer.
  const devMode = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  const apiPortText = options.apiPort ?? env.OPENCAE_API_PORT;
  const apiPort =
    apiPortText !== undefined ? portNumber(apiPortText, '--api-port') : port === 0 ? 0 : port + 1;
  if (apiPort > 65535) throw new UsageError('--api-port must be a port number (the default is --port + 1)');
  const metricsToken =
    options.metricsTokenFile !== undefined
      ? readSecretFile(options.metricsTokenFile, '--metrics-token-file')
      : env.OPENCAE_METRICS_TOKEN || undefined;
  const secretsKeys =
    options.secretsKeyFile !== undefined
      ? readSecretFile(options.secretsKeyFile, '--secrets-key-file')
      : env.OPENCAE_SECRETS_KEY?.trim() || undefined;
  const demo = options.demo ?? devMode;
  if (demo && !devMode)
    throw new UsageError('--demo needs a loopback http issuer (the demo tenant is for development only)');
  return {
    port,
    host,
    dataDir: resolve(options.data ?? env.OPENCAE_DATA ?? '.opencae'),
    issuerUrl,
    ...(databaseUrl ? { databaseUrl } : {}),
    trustProxy,
    devMode,
    demo,
    apiPort,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    ...(metricsToken ? { metricsToken } : {}),
    ...(secretsKeys ? { secretsKeys } : {}),
  };
}

/** A secret from a file (a mounted secret), without its trailing newline; errors never quote it. */
function readSecretFile(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`${flag}: cannot read ${file} (${code})`);
  }
  const secret = text.trim();
  if (secret === '') throw new UsageError(`${flag}: ${file} is empty`);
  return secret;
}

/**
 * `--trust-proxy 10.0.0.5,10.1.0.0/16`: only these peers may set X-Forwarded-For/-Proto. Trusting every
 * peer would let any client spoof its address (and the `ipaddr` claim), so there is no wildcard.
 */
function parseTrustProxy(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !validBits || rest.length > 0)
      throw new UsageError(
        `--trust-proxy takes IP addresses or CIDR ranges separated by commas, not "${entry}"`,
      );
  }
  return entries;
}

/** A port free right now: the issuer URL must be known before the issuer listens. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `--port 0`: a free port chosen now, and the issuer URL that goes with it. */
export async function withConcretePort(
  options: StartOptions,
  env: Record<string, string | undefined>,
): Promise<StartConfig> {
  const config = resolveStartConfig(options, env);
  if (config.port !== 0) return config;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  // The sample API keeps its own choice (0 = any free port, not the issuer's port + 1).
  return resolveStartConfig(
    { ...options, port: String(await freePort(host)), apiPort: String(config.apiPort) },
    { ...env, PORT: undefined },
  );
}

export async function startIssuer(config: StartConfig, io: CliIo): Promise<Issuer> {
  // Loaded here so admin commands do not pay for the whole issuer (oidc-provider) at startup.
  const { createIssuer } = await import('@opencae/issuer');
  const issuer = await createIssuer(
    {
      issuerUrl: config.issuerUrl,
      port: config.port,
      host: config.host,
      dataDir: config.dataDir,
      devMode: config.devMode,
      trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
      ...(config.secretsKeys ? { secretsKeys: config.secretsKeys } : {}),
    },
    { logger: { level: io.env.OPENCAE_LOG_LEVEL ?? 'warn' } },
  );
  try {
    await issuer.listen();
  } catch (error) {
    await issuer.close();
    throw error;
  }
  return issuer;
}

export interface RunningStack {
  issuer: Issuer;
  tenant?: DemoTenant;
  api?: SampleApiProcess;
  /** Passwords this start created (printed once). */
  newPasswords: DemoUser[];
  close(): Promise<void>;
}

/** The issuer, then (demo) the seed and the sample API; on any failure what started is stopped. */
export async function startStack(config: StartConfig, io: CliIo, o: { quietApi?: boolean } = {}) {
  const issuer = await startIssuer(config, io);
  let api: SampleApiProcess | undefined;
  const close = async () => {
    await api?.stop();
    await issuer.close();
  };
  if (!config.demo) return { issuer, newPasswords: [], close } satisfies RunningStack;
  try {
    if (!existsSync(join(config.dataDir, 'admin.json')))
      throw new CliError(
        `no ${join(config.dataDir, 'admin.json')}: this database was set up from another data folder; start with that folder (--data) or --no-demo`,
      );
    const connection = await resolveConnection({ data: config.dataDir, issuer: config.issuerUrl }, {});
    const seeded = await seedDemoTenant(
      new AdminClient(connection, io.fetch),
      config.dataDir,
      config.issuerUrl,
    );
    api = await startSampleApiProcess({
      tenant: seeded.tenant,
      host: config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host,
      port: config.apiPort,
      redisUrl: config.redisUrl,
      silent: o.quietApi ?? false,
      env: io.env,
    });
    let stopping = false;
    api.child.process.once('exit', (code, signal) => {
      if (!stopping) io.stderr(`warning: the sample API stopped (${signal ?? `exit code ${code}`})\n`);
    });
    return {
      issuer,
      tenant: seeded.tenant,
      api,
      newPasswords: seeded.newPasswords,
      close: async () => {
        stopping = true;
        await close();
      },
    } satisfies RunningStack;
  } catch (error) {
    await close();
    throw error;
  }
}

export function startCommand(program: Command, deps: CliDependencies): void {
  program
    .command('start')
    .description(
      'run the issuer (token service, console, admin API, Shared Signals transmitter); on a loopback issuer also the demo tenant and the sample CAE-enabled API',
    )
    .option('--port <port>', 'port of the issuer (env PORT, default 8080; 0 picks a free one)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option(
      '--data <dir>',
      'data folder: embedded database, admin.json, demo.json (env OPENCAE_DATA, default .opencae)',
    )
    .option(
      '--issuer-url <url>',
      'public URL of the issuer, e.g. behind a TLS proxy (env OPENCAE_ISSUER_URL)',
    )
    .option('--database-url <url>', 'PostgreSQL instead of the embedded database (env DATABASE_URL)')
    .option(
      '--trust-proxy <addresses>',
      'comma-separated addresses or CIDRs of the TLS proxies whose X-Forwarded-* headers are trusted (env OPENCAE_TRUST_PROXY)',
    )
    .option(
      '--metrics-token-file <file>',
      'serve Prometheus metrics at /metrics to scrapers that send the token in this file as a Bearer token (env OPENCAE_METRICS_TOKEN: the token itself)',
    )
    .option(
      '--secrets-key-file <file>',
      'encrypt secrets at rest with the key ring in this file: <id>:<base64 of 32 bytes>, comma-separated, the first encrypts (env OPENCAE_SECRETS_KEY: the ring itself; default: <data>/secrets.key for the embedded database, none for PostgreSQL)',
    )
    .option(
      '--api-port <port>',
      'port of the sample API (env OPENCAE_API_PORT, default --port + 1); its revocation state is in Redis when REDIS_URL is set',
    )
    .option('--demo', 'seed the demo tenant and run the sample API (default on a loopback http issuer)')
    .option('--no-demo', 'run the issuer alone: no demo tenant, no sample API')
    .action(async (options: StartOptions) => {
      const config = await withConcretePort(options, deps.io.env);
      const stack = await startStack(config, deps.io);
      deps.io.stdout(startBanner(config, stack));
      deps.io.ready?.({
        issuer: config.issuerUrl,
        api: stack.api?.url,
        dataDir: config.dataDir,
      });
      const signal = await (deps.io.stopSignal ?? processStopSignal)();
      deps.io.stdout(`${signal}: stopping${stack.api ? ' the sample API and' : ''} the issuer...\n`);
      await stack.close();
      deps.io.stdout('stopped\n');
    });
}
