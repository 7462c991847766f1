/**
 * The logs as an issuer module: the sign-in log writer (the token service records every token request
 * through it), its retention sweep, and the admin routes over the sign-in and delivery logs.
 */
import type { FastifyInstance } from 'fastify';
import type { IssuerContext, IssuerModule } from '../context.js';
import { LOGS_ADMIN_OPERATIONS, logsAdminRoutes } from './routes.js';
import { SignInLogWriter, type SignInLogWriterOptions } from './sign-in-log-writer.js';
import { DEFAULT_RETENTION_DAYS, deleteExpiredSignIns } from './sign-in-retention.js';

export interface LogsOptions {
  /** Sign-in log entries older than this are deleted. Default 30 days. */
  retentionDays?: number;
  /** How often the retention sweep runs. Default hourly. */
  retentionSweepMs?: number;
  writer?: Omit<SignInLogWriterOptions, 'logger'>;
}

export interface LogsModule extends IssuerModule {
  /** The sign-in log writer; exists once the module is registered. */
  readonly signInLog: () => SignInLogWriter;
}

/** Reads OPENCAE_SIGN_IN_LOG_RETENTION_DAYS; anything but a positive number is an error. */
export function logsOptionsFromEnvironment(env: Record<string, string | undefined>): LogsOptions {
  const raw = env.OPENCAE_SIGN_IN_LOG_RETENTION_DAYS;
  if (raw === undefined || raw === '') return {};
  const days = Number(raw);
  if (!Number.isFinite(days) || days <= 0)
    throw new TypeError(`OPENCAE_SIGN_IN_LOG_RETENTION_DAYS must be a positive number of days, not "${raw}"`);
  return { retentionDays: days };
}

export function logsModule(options: LogsOptions = {}): LogsModule {
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isFinite(retentionDays) || retentionDays <= 0)
    throw new RangeError('retentionDays must be a positive number');
  let writer: SignInLogWriter | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;

  return {
    name: 'logs',
    signInLog() {
      if (!writer) throw new Error('the logs module is not registered');
      return writer;
    },
    async register(app: FastifyInstance, context: IssuerContext) {
      writer = new SignInLogWriter(context.db, {
        registry: context.metrics,
        ...options.writer,
        logger: context.logger,
      });
      await app.register(logsAdminRoutes(context), { prefix: '/admin/v1' });
      context.adminOperations.push(...LOGS_ADMIN_OPERATIONS);
    },
    async start(context: IssuerContext) {
      const sweep = () => {
        sweeping ??= deleteExpiredSignIns(context.db, retentionDays)
          .then((deleted) => {
            if (deleted > 0)
              context.logger.info({ deleted, retentionDays }, 'expired sign-in log entries deleted');
          })
          .catch((error) => context.logger.warn({ err: error }, 'sign-in log retention sweep failed'))
          .finally(() => {
            sweeping = undefined;
          });
      };
      sweep();
      sweepTimer = setInterval(sweep, options.retentionSweepMs ?? 3600_000).unref();
    },
    async stop() {
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = undefined;
      await sweeping;
      await writer?.close();
    },
  };
}
