/** `opencae start`: runs an issuer until Ctrl-C / SIGTERM, then closes it cleanly. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Issuer } from '@opencae/issuer';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import type { CliDependencies } from './admin-command.js';

export interface StartOptions {
  port?: string;
  host?: string;
  data?: string;
  issuerUrl?: string;
  databaseUrl?: string;
}

export interface StartConfig {
  port: number;
  host: string;
  dataDir: string;
  issuerUrl: string;
  databaseUrl?: string;
  devMode: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Flags win over the environment (PORT, OPENCAE_DATA, OPENCAE_ISSUER_URL, DATABASE_URL), then defaults. */
export function resolveStartConfig(
  options: StartOptions,
  env: Record<string, string | undefined>,
): StartConfig {
  const portText = options.port ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new UsageError(`--port must be a port number, not "${portText}"`);
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
  return {
    port,
    host,
    dataDir: resolve(options.data ?? env.OPENCAE_DATA ?? '.opencae'),
    issuerUrl,
    ...(databaseUrl ? { databaseUrl } : {}),
    // Development conveniences (http loopback push URLs and redirect URIs) only on a loopback issuer.
    devMode: url.protocol === 'http:' && LOOPBACK.has(url.hostname),
  };
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
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    },
    { logger: { level: io.env.OPENCAE_LOG_LEVEL ?? 'warn' } },
  );
  let address: string;
  try {
    address = await issuer.listen();
  } catch (error) {
    await issuer.close();
    throw error;
  }
  const base = config.issuerUrl;
  const credentials = join(config.dataDir, 'admin.json');
  io.stdout(
    [
      `OpenCAE issuer listening on ${address}`,
      `  issuer:        ${base}`,
      `  discovery:     ${base}/.well-known/openid-configuration`,
      `  admin API:     ${base}/admin/v1  (OpenAPI: ${base}/admin/v1/openapi.json)`,
      `  shared signals: ${base}/.well-known/ssf-configuration`,
      `  storage:       ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `${config.dataDir}/pgdata`}`,
      ...(existsSync(credentials) ? [`  admin credentials: ${credentials}`] : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  return issuer;
}

function processStopSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveSignal(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function startCommand(program: Command, deps: CliDependencies): void {
  program
    .command('start')
    .description('run the issuer (token service, admin API, Shared Signals transmitter)')
    .option('--port <port>', 'port to listen on (env PORT, default 8080)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option(
      '--data <dir>',
      'data folder: embedded database and admin.json (env OPENCAE_DATA, default .opencae)',
    )
    .option(
      '--issuer-url <url>',
      'public URL of the issuer, e.g. behind a TLS proxy (env OPENCAE_ISSUER_URL)',
    )
    .option('--database-url <url>', 'PostgreSQL instead of the embedded database (env DATABASE_URL)')
    .action(async (options: StartOptions) => {
      const config = resolveStartConfig(options, deps.io.env);
      const issuer = await startIssuer(config, deps.io);
      const signal = await (deps.io.stopSignal ?? processStopSignal)();
      deps.io.stdout(`${signal}: stopping the issuer...\n`);
      await issuer.close();
      deps.io.stdout('stopped\n');
    });
}
