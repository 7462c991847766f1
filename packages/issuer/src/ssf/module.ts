/**
 * The Shared Signals transmitter as an issuer module: routes at register time; at start, the outbox
 * dispatcher and the push worker, woken by LISTEN/NOTIFY, a startup sweep and a slow safety timer.
 */
import type { FastifyInstance } from 'fastify';
import type { IssuerContext, IssuerModule } from '../context.js';
import { registerSsfAdminRoutes } from './admin-routes.js';
import { DELIVERIES_CHANNEL, SECURITY_EVENTS_CHANNEL } from './channels.js';
import { Dispatcher } from './dispatcher.js';
import { issuerPath, SSF_PATHS } from './metadata.js';
import { resolveSsfOptions, type SsfOptions } from './options.js';
import { PollService } from './poll-service.js';
import { PollWakeups } from './poll-wakeups.js';
import { PushUrlGuard } from './push-url-guard.js';
import { PushWorker } from './push-worker.js';
import { registerSsfRoutes } from './routes.js';
import { SerialRunner } from './serial-runner.js';
import { SetSigner } from './set-signer.js';
import { StreamService } from './streams.js';

export interface SsfModule extends IssuerModule {
  /** Runs dispatch and push until idle (tests and benchmarks use it to wait for quiescence). */
  drain(): Promise<void>;
}

export function ssfModule(input: SsfOptions = {}): SsfModule {
  const options = resolveSsfOptions(input);
  const shutdown = new AbortController();
  const wakeups = new PollWakeups();
  let dispatcher: Dispatcher | undefined;
  let pushWorker: PushWorker | undefined;
  let dispatchRunner: SerialRunner | undefined;
  let pushRunner: SerialRunner | undefined;
  let unlisten: (() => Promise<void>)[] = [];
  let safetyTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  /** Arms a timer for the earliest push retry, so backoff does not wait for the safety sweep. */
  async function scheduleRetry(): Promise<void> {
    if (!pushWorker || shutdown.signal.aborted) return;
    const due = await pushWorker.nextDueAt();
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    if (!due) return;
    const delay = Math.min(Math.max(0, due.getTime() - Date.now()) + 5, options.safetySweepMs);
    retryTimer = setTimeout(() => pushRunner?.trigger(), delay);
    retryTimer.unref();
  }

  return {
    name: 'ssf',

    async register(app: FastifyInstance, context: IssuerContext) {
      const issuer = context.config.issuerUrl;
      const basePath = issuerPath(issuer);
      const guard = new PushUrlGuard({ devMode: context.config.devMode, allowList: options.pushAllowList });
      const streams = new StreamService(context.db, {
        issuer,
        pollUrlBase: `${issuer}${SSF_PATHS.poll}`,
        minVerificationIntervalSeconds: options.minVerificationIntervalSeconds,
        pushUrlGuard: guard,
      });
      const polls = new PollService(context.db, streams, wakeups, {
        longPollMaxWaitMs: options.longPollMaxWaitMs,
        redeliveryMs: options.pollRedeliveryMs,
      });
      dispatcher = new Dispatcher(context.db, new SetSigner(context.keys), {
        issuer,
        batchSize: options.batchSize,
      });
      pushWorker = new PushWorker(context.db, guard, {
        batchSize: options.batchSize,
        pushTimeoutMs: options.pushTimeoutMs,
        retryBaseDelayMs: options.retryBaseDelayMs,
        retryMaxDelayMs: options.retryMaxDelayMs,
        maxPushAttempts: options.maxPushAttempts,
        concurrency: options.pushConcurrency,
      });
      await registerSsfRoutes(app, {
        issuer,
        basePath,
        jwksUri: options.jwksUri ?? `${issuer}/jwks`,
        accessTokens: context.accessTokens,
        streams,
        polls,
        shutdown: shutdown.signal,
      });
      await registerSsfAdminRoutes(app, { db: context.db, accessTokens: context.accessTokens, basePath });
    },

    async start(context: IssuerContext) {
      const log = context.logger;
      const activeDispatcher = dispatcher;
      const activeWorker = pushWorker;
      if (!activeDispatcher || !activeWorker)
        throw new Error('the SSF module must be registered before start');
      dispatchRunner = new SerialRunner(
        async () => {
          const result = await activeDispatcher.dispatchBatch();
          if (result.deliveries > 0) {
            // This process's workers start at once; others hear the NOTIFY.
            pushRunner?.trigger();
            wakeups.wake([...result.streamIds].join(','));
          }
          return result.more;
        },
        (error) => log.error({ err: error }, 'SSF dispatch failed; retrying at the next wake-up'),
      );
      pushRunner = new SerialRunner(
        async () => {
          const more = await activeWorker.runBatch();
          if (!more) await scheduleRetry();
          return more;
        },
        (error) => log.error({ err: error }, 'SSF push delivery failed; retrying at the next wake-up'),
      );
      unlisten = [
        await context.storage.listen(SECURITY_EVENTS_CHANNEL, () => dispatchRunner?.trigger()),
        await context.storage.listen(DELIVERIES_CHANNEL, (payload) => {
          pushRunner?.trigger();
          wakeups.wake(payload);
        }),
      ];
      // Startup sweep: whatever was committed while no process was listening (or before a crash).
      dispatchRunner.trigger();
      pushRunner.trigger();
      safetyTimer = setInterval(() => {
        dispatchRunner?.trigger();
        pushRunner?.trigger();
        wakeups.wakeAll();
      }, options.safetySweepMs);
      safetyTimer.unref();
    },

    async stop() {
      shutdown.abort();
      if (safetyTimer) clearInterval(safetyTimer);
      if (retryTimer) clearTimeout(retryTimer);
      wakeups.wakeAll();
      await Promise.all(unlisten.map((stop) => stop().catch(() => {})));
      unlisten = [];
      await Promise.all([dispatchRunner?.stop(), pushRunner?.stop()]);
    },

    async drain() {
      for (let round = 0; round < 3; round++) {
        dispatchRunner?.trigger();
        await dispatchRunner?.idle();
        pushRunner?.trigger();
        await pushRunner?.idle();
      }
    },
  };
}
