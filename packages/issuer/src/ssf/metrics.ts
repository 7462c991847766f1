/**
 * The transmitter's metrics. `opencae_ssf_deliveries_total{method,outcome}` counts what happened to
 * SETs: push — delivered (2xx), failed (refused for good by the receiver), retry (an attempt failed,
 * another is scheduled), dead_letter (attempts exhausted); poll — delivered (handed out in a poll
 * answer, again on each redelivery) and failed (reported by the receiver in `setErrs`).
 * `opencae_ssf_outbox_pending` is the number of security events not yet fanned out to streams,
 * counted at scrape time (a partial index keeps that cheap) within a time limit.
 */
import { Gauge, type Registry } from 'prom-client';
import { counterOn } from '../metrics/registered.js';
import { withinTimeLimit } from '../metrics/time-limit.js';
import type { Db } from '../storage/database.js';
import type { PushOutcome } from './push-sender.js';

export type DeliveryMethodLabel = 'push' | 'poll';
export type DeliveryOutcomeLabel = 'delivered' | 'failed' | 'retry' | 'dead_letter';

export interface SsfDeliveryMetrics {
  count(method: DeliveryMethodLabel, outcome: DeliveryOutcomeLabel, deliveries?: number): void;
}

export interface SsfMetricsOptions {
  registry: Registry;
  db: Db;
  logger: { warn(details: object, message: string): void };
  /** Longest wait for the outbox count during a scrape. Default 2 s. */
  outboxCountTimeoutMs?: number;
}

export function ssfMetrics(options: SsfMetricsOptions): SsfDeliveryMetrics {
  const { registry, db, logger } = options;
  const deliveries = counterOn(registry, {
    name: 'opencae_ssf_deliveries_total',
    help: 'SSF delivery outcomes by method (push|poll) and outcome (delivered|failed|retry|dead_letter)',
    labelNames: ['method', 'outcome'],
  });
  const timeoutMs = options.outboxCountTimeoutMs ?? 2_000;
  // Its collect reads this issuer's database: a gauge left by an earlier registration is replaced.
  registry.removeSingleMetric('opencae_ssf_outbox_pending');
  new Gauge({
    name: 'opencae_ssf_outbox_pending',
    help: 'Security events in the outbox not yet dispatched to streams (counted at scrape time)',
    registers: [registry],
    async collect() {
      try {
        this.set(await withinTimeLimit(pendingOutboxEvents(db), timeoutMs, 'the SSF outbox count'));
      } catch (error) {
        // The last value stays; the scrape itself must not fail because of one gauge.
        logger.warn({ err: error }, 'opencae_ssf_outbox_pending not updated');
      }
    },
  });
  return {
    count(method, outcome, count = 1) {
      if (count > 0) deliveries.inc({ method, outcome }, count);
    },
  };
}

/** The outcome label of one push attempt, as the push worker recorded it. */
export function pushOutcomeLabel(outcome: PushOutcome, retryInMs: number | undefined): DeliveryOutcomeLabel {
  if (outcome.kind === 'retry') return retryInMs === undefined ? 'dead_letter' : 'retry';
  return outcome.kind;
}

export async function pendingOutboxEvents(db: Db): Promise<number> {
  const row = await db
    .selectFrom('security_events')
    .select((eb) => eb.fn.countAll<string>().as('pending'))
    .where('dispatched_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.pending);
}
