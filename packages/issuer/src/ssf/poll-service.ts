/**
 * RFC 8936 poll delivery. A request first applies `ack` (acknowledged SETs are gone) and `setErrs`
 * (recorded as failed), then returns up to `maxEvents` SETs. With `returnImmediately` false (the
 * default) it is a real long poll: it waits, woken by NOTIFY, until a SET is available or the bounded
 * wait ends. A SET handed out and not acknowledged is handed out again after `redeliveryMs`.
 */
import { DELIVERY, type PollResponse, pollRequestSchema } from '@opencae/protocol';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../storage/database.js';
import { SsfError } from './errors.js';
import type { SsfDeliveryMetrics } from './metrics.js';
import type { PollWakeups } from './poll-wakeups.js';
import type { StreamService } from './streams.js';

export interface PollServiceOptions {
  longPollMaxWaitMs: number;
  redeliveryMs: number;
  /** Counts SETs handed out (delivered) and reported in `setErrs` (failed). */
  metrics?: SsfDeliveryMetrics;
}

const DEFAULT_MAX_EVENTS = 100;
const MAX_EVENTS_LIMIT = 1000;
const MAX_ACKS = 10_000;

export class PollService {
  constructor(
    private readonly db: Db,
    private readonly streams: StreamService,
    private readonly wakeups: PollWakeups,
    private readonly options: PollServiceOptions,
  ) {}

  async poll(owner: string, streamId: string, body: unknown, signal?: AbortSignal): Promise<PollResponse> {
    const request = parsePollRequest(body);
    const stream = await this.streams.get(owner, streamId);
    if (stream.deliveryMethod !== DELIVERY.poll)
      throw new SsfError('invalid_request', 'this stream uses push delivery; it cannot be polled');

    await this.acknowledge(streamId, request.ack ?? []);
    await this.recordErrors(streamId, request.setErrs ?? {});

    const maxEvents = Math.min(request.maxEvents ?? DEFAULT_MAX_EVENTS, MAX_EVENTS_LIMIT);
    if (maxEvents === 0) return { sets: {}, moreAvailable: await this.hasAvailable(streamId) };

    const deadline = Date.now() + this.options.longPollMaxWaitMs;
    for (;;) {
      const taken = await this.take(streamId, maxEvents);
      const remaining = deadline - Date.now();
      if (taken.sets.length > 0 || request.returnImmediately === true || remaining <= 0 || signal?.aborted) {
        return {
          sets: Object.fromEntries(taken.sets.map((set) => [set.jti, set.set_jwt])),
          moreAvailable: taken.more,
        };
      }
      // Sleep until woken, the deadline, or the next unacknowledged SET becoming due again.
      const due = await this.nextRedeliveryAt(streamId);
      const wait = due ? Math.min(remaining, Math.max(0, due.getTime() - Date.now()) + 5) : remaining;
      await this.wakeups.wait(streamId, wait, signal);
    }
  }

  private async acknowledge(streamId: string, jtis: string[]): Promise<void> {
    if (jtis.length === 0) return;
    await this.db
      .updateTable('ssf_deliveries')
      .set({ state: 'acknowledged', acked_at: sql`now()`, set_jwt: '' })
      .where('stream_id', '=', streamId)
      .where('jti', 'in', jtis)
      .where('state', 'in', ['pending', 'delivered'])
      .execute();
  }

  private async recordErrors(streamId: string, errors: Record<string, { err: string; description: string }>) {
    for (const [jti, error] of Object.entries(errors)) {
      const result = await this.db
        .updateTable('ssf_deliveries')
        .set({ state: 'failed', last_error: `${error.err}: ${error.description}`.slice(0, 1000) })
        .where('stream_id', '=', streamId)
        .where('jti', '=', jti)
        .where('state', 'in', ['pending', 'delivered'])
        .executeTakeFirst();
      this.options.metrics?.count('poll', 'failed', Number(result.numUpdatedRows));
    }
  }

  /** Claims up to `max` available SETs (SKIP LOCKED: concurrent polls never get the same one). */
  private async take(
    streamId: string,
    max: number,
  ): Promise<{ sets: { jti: string; set_jwt: string }[]; more: boolean }> {
    const result = await sql<{ jti: string; set_jwt: string; security_event_id: string; id: string }>`
      WITH available AS (
        SELECT d.id, d.security_event_id
          FROM ssf_deliveries d
          JOIN ssf_streams s ON s.id = d.stream_id
         WHERE d.stream_id = ${streamId}
           AND (d.state = 'pending' OR (d.state = 'delivered' AND d.next_attempt_at <= now()))
           AND (s.status = 'enabled' OR d.control)
         ORDER BY d.security_event_id, d.id
         LIMIT ${max + 1}
         FOR UPDATE OF d SKIP LOCKED
      ), chosen AS (
        SELECT id FROM available ORDER BY security_event_id, id LIMIT ${max}
      )
      UPDATE ssf_deliveries d
         SET state = 'delivered',
             delivered_at = coalesce(d.delivered_at, now()),
             next_attempt_at = now() + ${this.options.redeliveryMs} * interval '1 millisecond',
             attempts = d.attempts + 1
        FROM chosen
       WHERE d.id = chosen.id
      RETURNING d.id, d.jti, d.set_jwt, d.security_event_id,
                (SELECT count(*) FROM available) > ${max} AS more`.execute(this.db);
    const rows = [...result.rows].sort(
      (a, b) => Number(a.security_event_id) - Number(b.security_event_id) || Number(a.id) - Number(b.id),
    );
    const more = rows.length > 0 ? Boolean((rows[0] as unknown as { more: boolean }).more) : false;
    this.options.metrics?.count('poll', 'delivered', rows.length);
    return { sets: rows, more };
  }

  private async hasAvailable(streamId: string): Promise<boolean> {
    const row = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ssf_deliveries d JOIN ssf_streams s ON s.id = d.stream_id
       WHERE d.stream_id = ${streamId}
         AND (d.state = 'pending' OR (d.state = 'delivered' AND d.next_attempt_at <= now()))
         AND (s.status = 'enabled' OR d.control)`.execute(this.db);
    return (row.rows[0]?.n ?? 0) > 0;
  }

  private async nextRedeliveryAt(streamId: string): Promise<Date | undefined> {
    const row = await this.db
      .selectFrom('ssf_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('due'))
      .where('stream_id', '=', streamId)
      .where('state', '=', 'delivered')
      .executeTakeFirst();
    return row?.due ? new Date(row.due as Date | string) : undefined;
  }
}

function parsePollRequest(body: unknown) {
  const value = body === undefined || body === null || body === '' ? {} : body;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new SsfError('invalid_request', 'the poll request body must be a JSON object');
  const parsed = pollRequestSchema.safeParse(value);
  if (!parsed.success) throw new SsfError('invalid_request', z.prettifyError(parsed.error));
  if ((parsed.data.ack?.length ?? 0) > MAX_ACKS || Object.keys(parsed.data.setErrs ?? {}).length > MAX_ACKS)
    throw new SsfError('invalid_request', `at most ${MAX_ACKS} acknowledgements per request`);
  return parsed.data;
}
