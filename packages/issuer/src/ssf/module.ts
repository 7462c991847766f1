/**
 * The Shared Signals transmitter as an issuer module: routes at register time; at start, the outbox
 * dispatcher and the push worker, woken by LISTEN/NOTIFY, a startup sweep and a slow safety timer.
 */
import type { FastifyInstance } from 'fastify';
import type { IssuerContext, IssuerModule } from '../context.js';
import { registerSsfAdminRoutes, SSF_ADMIN_OPERATIONS } from './admin-routes.js';
import { DELIVERIES_CHANNEL, parseDeliveriesPayload, SECURITY_EVENTS_CHANNEL } from './channels.js';
import { Dispatcher } from './dispatcher.js';
import { issuerPath, SSF_PATHS } from './metadata.js';
import { pushOutcomeLabel, ssfMetrics } from './metrics.js';
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
  let retryTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  const sending = new Set<Promise<void>>();

  /** Arms the push timer for a retry `delayMs` from now, unless an earlier one is armed. */
  function scheduleRetry(delayMs: number): void {
    if (shutdown.signal.aborted) return;
    const at = Date.now() + Math.min(Math.max(0, delayMs), options.safetySweepMs) + 5;
    if (retryTimer && retryTimer.at <= at) return;
    if (retryTimer) clearTimeout(retryTimer.timer);
    const timer = setTimeout(() => {
      retryTimer = undefined;
      pushRunner?.trigger();
    }, at - Date.now());
    timer.unref();
    retryTimer = { at, timer };
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
        secrets: context.secrets,
      });
      const metrics = ssfMetrics({ registry: context.metrics, db: context.db, logger: context.logger });
      const polls = new PollService(context.db, streams, wakeups, {
        longPollMaxWaitMs: options.longPollMaxWaitMs,
        redeliveryMs: options.pollRedeliveryMs,
        metrics,
      });
      pushWorker = new PushWorker(
        context.db,
        guard,
        {
          batchSize: options.batchSize,
          pushTimeoutMs: options.pushTimeoutMs,
          retryBaseDelayMs: options.retryBaseDelayMs,
          retryMaxDelayMs: options.retryMaxDelayMs,
          maxPushAttempts: options.maxPushAttempts,
          concurrency: options.pushConcurrency,
          secrets: context.secrets,
        },
        (_delivery, outcome, retryInMs) => {
          metrics.count('push', pushOutcomeLabel(outcome, retryInMs));
          if (retryInMs !== undefined) scheduleRetry(retryInMs);
        },
      );
      dispatcher = new Dispatcher(context.db, new SetSigner(context.keys), {
        issuer,
        batchSize: options.batchSize,
        pushLeaseMs: pushWorker.leaseMs,
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
      context.adminOperations.push(...SSF_ADMIN_OPERATIONS);
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
          if (result.leased.length > 0) {
            // Sent at once by this process, outside the dispatch loop so the next batch is not held up.
            const send = activeWorker
              .sendClaimed(result.leased)
              .catch((error) => log.error({ err: error }, 'SSF push delivery failed; the lease will expire'))
              .finally(() => sending.delete(send));
            sending.add(send);
          }
          if (result.deliveries > 0) wakeups.wake([...result.streamIds].join(','));
          return result.more;
        },
        (error) => log.error({ err: error }, 'SSF dispatch failed; retrying at the next wake-up'),
      );
      pushRunner = new SerialRunner(
        () => activeWorker.runBatch(),
        (error) => log.error({ err: error }, 'SSF push delivery failed; retrying at the next wake-up'),
      );
      unlisten = [
        await context.storage.listen(SECURITY_EVENTS_CHANNEL, () => dispatchRunner?.trigger()),
        await context.storage.listen(DELIVERIES_CHANNEL, (payload) => {
          const { kind, streams } = parseDeliveriesPayload(payload);
          if (kind === 'released') pushRunner?.trigger();
          wakeups.wake(streams);
        }),
      ];
      // Startup sweep: whatever was committed while no process was listening (or before a crash).
      dispatchRunner.trigger();
      pushRunner.trigger();
      const due = await activeWorker.nextDueAt();
      if (due) scheduleRetry(due.getTime() - Date.now());
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
      if (retryTimer) clearTimeout(retryTimer.timer);
      wakeups.wakeAll();
      await Promise.all(unlisten.map((stop) => stop().catch(() => {})));
      unlisten = [];
      await Promise.all([dispatchRunner?.stop(), pushRunner?.stop()]);
      await Promise.all(sending);
    },

    async drain() {
      for (let round = 0; round < 3; round++) {
        dispatchRunner?.trigger();
        await dispatchRunner?.idle();
        await Promise.all(sending);
        pushRunner?.trigger();
        await pushRunner?.idle();
      }
    },
  };
}
