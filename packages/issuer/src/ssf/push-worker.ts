/**
 * Sends pending push deliveries. A worker claims a batch with FOR UPDATE SKIP LOCKED and leases it
 * (next_attempt_at = now + lease) in a short transaction, then sends outside any transaction; if the
 * process dies mid-send, the lease expires and any process sends again (at-least-once; receivers
 * de-duplicate by jti). A stream's deliveries are sent one after another in outbox order.
 *
 * Claims are serialized across replicas (an advisory lock held for the claim's few milliseconds, not
 * for the sending): two replicas claiming at once, as both do when a paused stream is enabled, would
 * otherwise split one stream's held events between them and send them out of order.
 */
import { DELIVERY } from '@opencae/protocol';
import { sql } from 'kysely';
import { SecretBox } from '../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import type { Db } from '../storage/database.js';
import { retryDelayMs } from './backoff.js';
import { type PushOutcome, pushSet } from './push-sender.js';
import type { PushUrlGuard } from './push-url-guard.js';

/** Advisory lock serializing push claims (see above). */
export const PUSH_CLAIM_LOCK = 7368240012;

export interface PushWorkerOptions {
  batchSize: number;
  pushTimeoutMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxPushAttempts: number;
  concurrency: number;
  /** Decrypts the streams' authorization headers (stored encrypted when a key ring is configured). */
  secrets?: SecretBox;
}

export interface ClaimedDelivery {
  id: string;
  stream_id: string;
  security_event_id: string;
  jti: string;
  set_jwt: string;
  attempts: number;
  endpoint_url: string;
  authorization_header: string | null;
}

export class PushWorker {
  constructor(
    private readonly db: Db,
    private readonly guard: PushUrlGuard,
    private readonly options: PushWorkerOptions,
    /** Called after each outcome is recorded; `retryInMs` when a retry was scheduled. */
    private readonly onOutcome?: (
      delivery: { id: string; jti: string },
      outcome: PushOutcome,
      retryInMs?: number,
    ) => void,
  ) {}

  /** Claims and sends one batch; returns true when the batch was full. */
  async runBatch(): Promise<boolean> {
    const claimed = await this.claim();
    if (claimed.length === 0) return false;
    await this.sendClaimed(claimed);
    return claimed.length === this.options.batchSize;
  }

  /** Sends deliveries this process holds the lease of: per stream in order, streams in parallel. */
  async sendClaimed(claimed: readonly ClaimedDelivery[]): Promise<void> {
    const byStream = new Map<string, ClaimedDelivery[]>();
    for (const delivery of claimed) {
      const list = byStream.get(delivery.stream_id) ?? [];
      list.push(delivery);
      byStream.set(delivery.stream_id, list);
    }
    const queues = [...byStream.values()];
    const workers = Array.from({ length: Math.min(this.options.concurrency, queues.length) }, async () => {
      for (let queue = queues.shift(); queue; queue = queues.shift()) {
        for (const delivery of queue) await this.send(delivery);
      }
    });
    await Promise.all(workers);
  }

  /** When the earliest pending push delivery becomes due (for the retry timer), if any. */
  async nextDueAt(): Promise<Date | undefined> {
    const row = await this.db
      .selectFrom('ssf_deliveries as d')
      .innerJoin('ssf_streams as s', 's.id', 'd.stream_id')
      .select((eb) => eb.fn.min('d.next_attempt_at').as('due'))
      .where('d.state', '=', 'pending')
      .where('s.delivery_method', '=', DELIVERY.push)
      .where((eb) => eb.or([eb('s.status', '=', 'enabled'), eb('d.control', '=', true)]))
      .executeTakeFirst();
    return row?.due ? new Date(row.due as Date | string) : undefined;
  }

  /** How long a claimed delivery is reserved for the process sending it. */
  get leaseMs(): number {
    return this.options.pushTimeoutMs + 5_000;
  }

  private async claim(): Promise<ClaimedDelivery[]> {
    const leaseMs = this.leaseMs;
    const result = await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${PUSH_CLAIM_LOCK})`.execute(trx);
      return sql<ClaimedDelivery>`
      WITH due AS (
        SELECT d.id
          FROM ssf_deliveries d
          JOIN ssf_streams s ON s.id = d.stream_id
         WHERE d.state = 'pending'
           AND d.next_attempt_at <= now()
           AND s.delivery_method = ${DELIVERY.push}
           AND (s.status = 'enabled' OR d.control)
         ORDER BY d.security_event_id, d.id
         LIMIT ${this.options.batchSize}
         FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE ssf_deliveries d
         SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond',
             attempts = d.attempts + 1
        FROM due, ssf_streams s
       WHERE d.id = due.id AND s.id = d.stream_id
      RETURNING d.id, d.stream_id, d.jti, d.set_jwt, d.attempts, d.security_event_id,
                s.endpoint_url, s.authorization_header`.execute(trx);
    });
    // UPDATE ... RETURNING does not keep the CTE's order.
    return [...result.rows].sort(
      (a, b) => Number(a.security_event_id) - Number(b.security_event_id) || Number(a.id) - Number(b.id),
    );
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const outcome = await pushSet(
      {
        url: delivery.endpoint_url,
        setJwt: delivery.set_jwt,
        // Decrypted only here, for the request: the claimed rows carry the stored (encrypted) value.
        authorizationHeader: (this.options.secrets ?? SecretBox.plaintext()).openNullable(
          SECRET_COLUMNS.pushAuthorization,
          delivery.authorization_header,
        ),
        timeoutMs: this.options.pushTimeoutMs,
      },
      this.guard,
    );
    const retryInMs = await this.record(delivery, outcome);
    this.onOutcome?.(delivery, outcome, retryInMs);
  }

  /** Stores the outcome; returns the retry delay when one was scheduled. */
  private async record(delivery: ClaimedDelivery, outcome: PushOutcome): Promise<number | undefined> {
    const update = this.db
      .updateTable('ssf_deliveries')
      .where('id', '=', delivery.id)
      .where('state', '=', 'pending');
    if (outcome.kind === 'delivered') {
      await update.set({ state: 'delivered', delivered_at: sql`now()`, last_error: null }).execute();
    } else if (outcome.kind === 'failed') {
      await update.set({ state: 'failed', last_error: outcome.error }).execute();
    } else if (delivery.attempts >= this.options.maxPushAttempts) {
      await update
        .set({
          state: 'dead_letter',
          last_error: `${outcome.error} (gave up after ${delivery.attempts} attempts)`,
        })
        .execute();
    } else {
      const delay = retryDelayMs(delivery.attempts, {
        baseDelayMs: this.options.retryBaseDelayMs,
        maxDelayMs: this.options.retryMaxDelayMs,
      });
      await update
        .set({
          last_error: outcome.error,
          next_attempt_at: sql`now() + ${delay} * interval '1 millisecond'`,
        })
        .execute();
      return delay;
    }
    return undefined;
  }
}
