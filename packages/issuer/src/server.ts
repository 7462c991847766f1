/** Composes the issuer: storage, keys, then each module's routes and background work. */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { AccessTokenVerifier } from './auth/access-token-verifier.js';
import { type IssuerConfig, type IssuerConfigInput, parseIssuerConfig } from './config.js';
import type { IssuerContext, IssuerModule } from './context.js';
import type { SecretBox } from './crypto/secret-box.js';
import { prepareSecretsAtRest } from './crypto/secrets-at-rest.js';
import { resolveSecretBox } from './crypto/secrets-key-source.js';
import { SigningKeyStore } from './keys/signing-keys.js';
import { registerMetricsEndpoint } from './metrics/metrics-endpoint.js';
import { issuerModules } from './modules.js';
import { openStorage, type Storage } from './storage/database.js';

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

/** Response header carrying the request id (a UUID; the sign-in log's correlation id). */
export const REQUEST_ID_HEADER = 'x-request-id';

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
    // Unique across restarts and replicas: the sign-in log keeps it as the request's correlation id.
    genReqId: () => randomUUID(),
  });
  // Set on the raw response, so it also reaches answers written by oidc-provider (hijacked replies):
  // whoever reports a refused request can quote the id an administrator finds in the sign-in log.
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    done();
  });

  let secrets: SecretBox;
  let keys: SigningKeyStore;
  try {
    // Before anything reads a secret: a key ring that cannot read the store stops the start here.
    secrets = await openSecrets(config, storage, app.log);
    keys = new SigningKeyStore(storage.db, secrets);
    await keys.ensureActiveKey();
  } catch (error) {
    await storage.close();
    throw error;
  }

  const context: IssuerContext = {
    config,
    storage,
    db: storage.db,
    keys,
    secrets,
    accessTokens: new AccessTokenVerifier(keys, config.issuerUrl),
    logger: app.log,
    // Per issuer, not prom-client's global registry: several issuers in one process keep their own counts.
    metrics: new Registry(),
    adminOperations: [],
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

/**
 * The key ring for secrets at rest, checked against the store, with the store's plaintext (or
 * old-key) secrets re-encrypted under the current key.
 */
async function openSecrets(
  config: IssuerConfig,
  storage: Storage,
  log: FastifyBaseLogger,
): Promise<SecretBox> {
  const { box, source, file } = await resolveSecretBox({
    secretsKeys: config.secretsKeys,
    engine: storage.engine,
    dataDir: config.dataDir,
  });
  if (source === 'none')
    log.warn(
      'secrets at rest are NOT encrypted: PostgreSQL is used and no secrets key is configured (set OPENCAE_SECRETS_KEY or --secrets-key-file, the same key on every replica; see docs/security.md)',
    );
  const { reencrypted } = await prepareSecretsAtRest(storage.db, box);
  const total = Object.values(reencrypted).reduce((sum, count) => sum + count, 0);
  // Ids and counts only: never a key or a value.
  if (total > 0)
    log.info(
      { keyId: box.current?.id, reencrypted, keyFile: file },
      'secrets re-encrypted under the current key',
    );
  return box;
}
