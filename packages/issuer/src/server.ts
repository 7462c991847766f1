/** Composes the issuer: storage, keys, then each module's routes and background work. */
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { AccessTokenVerifier } from './auth/access-token-verifier.js';
import { type IssuerConfig, type IssuerConfigInput, parseIssuerConfig } from './config.js';
import type { IssuerContext, IssuerModule } from './context.js';
import { SigningKeyStore } from './keys/signing-keys.js';
import { registerMetricsEndpoint } from './metrics/metrics-endpoint.js';
import { issuerModules } from './modules.js';
import { openStorage } from './storage/database.js';

export interface Issuer {
  readonly app: FastifyInstance;
  readonly context: IssuerContext;
  /** Starts listening (config host/port) and starts the modules' background work. Returns the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface CreateIssuerOptions {
  /** Replaces the default module list (tests compose a partial issuer). */
  modules?: IssuerModule[];
  /** pino logger options; false silences logs. */
  logger?: boolean | Record<string, unknown>;
}

/** Headers and body fields that must never reach a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.client_secret',
  '*.password',
  '*.refresh_token',
  '*.access_token',
];

export async function createIssuer(
  input: IssuerConfigInput,
  options: CreateIssuerOptions = {},
): Promise<Issuer> {
  const config: IssuerConfig = parseIssuerConfig(input);
  const storage = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const keys = new SigningKeyStore(storage.db);
  await keys.ensureActiveKey();

  const loggerOption = options.logger ?? false;
  const app = Fastify({
    logger:
      loggerOption === false
        ? false
        : { level: 'info', redact: REDACTED_LOG_PATHS, ...(loggerOption === true ? {} : loggerOption) },
    trustProxy: config.trustProxy,
    bodyLimit: 256 * 1024,
    // Errors answer with a clear message, never a stack trace.
    return503OnClosing: true,
    // Keep-alive connections must not hold a shutdown open.
    forceCloseConnections: true,
  });

  const context: IssuerContext = {
    config,
    storage,
    db: storage.db,
    keys,
    accessTokens: new AccessTokenVerifier(keys, config.issuerUrl),
    logger: app.log,
    // Per issuer, not prom-client's global registry: several issuers in one process keep their own counts.
    metrics: new Registry(),
  };
  // Before the modules, so its onResponse hook sees every route they add.
  registerMetricsEndpoint(app, { registry: context.metrics, token: config.metricsToken });

  const modules = options.modules ?? issuerModules();
  for (const module of modules) await module.register(app, context);

  let started = false;
  return {
    app,
    context,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      for (const module of modules) await module.start?.(context);
      started = true;
      return address;
    },
    async close() {
      if (started) for (const module of [...modules].reverse()) await module.stop?.();
      await app.close();
      await storage.close();
    },
  };
}
