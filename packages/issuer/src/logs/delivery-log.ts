/**
 * The delivery log: each security event with, per stream, the state of its SET (pending, delivered,
 * acknowledged, failed, dead letter) and when it got there, so propagation time per receiver is
 * visible. Plus the health of each stream. Read-only views over the outbox (security_events) and the
 * transmitter's ssf_deliveries.
 */
import { sql } from 'kysely';
import { ValidationError } from '../directory/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../directory/pagination.js';
import type { Db } from '../storage/database.js';
import type { SsfDeliveryMethod, SsfDeliveryState, SsfStreamStatus } from '../storage/schema.js';

export interface EventDelivery {
  stream_id: string;
  stream: string;
  state: SsfDeliveryState;
  attempts: number;
  created_at: string;
  delivered_at: string | null;
  acked_at: string | null;
  /** From the change to the SET reaching the receiver (push accepted or handed out by poll). */
  propagation_ms: number | null;
  last_error: string | null;
}

export interface SecurityEventEntry {
  id: string;
  txn: string;
  event_type: string;
  principal_type: string;
  principal_id: string;
  /** The principal's username or application name, when it still exists. */
  principal_name: string | null;
  occurred_at: string;
  dispatched_at: string | null;
  deliveries: EventDelivery[];
}

export type StreamHealthState = 'healthy' | 'lagging' | 'failing' | 'paused' | 'disabled' | 'idle';

export interface StreamHealth {
  id: string;
  name: string;
  delivery_method: SsfDeliveryMethod;
  status: SsfStreamStatus;
  health: StreamHealthState;
  deliveries: Partial<Record<SsfDeliveryState, number>>;
  /** Age of the oldest SET not yet delivered (pending or failed), in seconds; 0 when none. */
  lag_seconds: number;
  last_delivered_at: string | null;
  /** Median propagation time of the stream's last 100 delivered SETs. */
  median_propagation_ms: number | null;
}

export interface SecurityEventQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  eventType?: string | undefined;
  principal?: string | undefined;
  /** Stream management events (verification) are left out unless asked for. */
  includeStreamEvents?: boolean | undefined;
}

/** Lag beyond which a stream is reported lagging. */
export const LAGGING_AFTER_SECONDS = 60;

const iso = (date: Date | null) => (date ? date.toISOString() : null);
const milliseconds = (from: Date, to: Date | null) =>
  to ? Math.max(0, to.getTime() - from.getTime()) : null;

/** A readable name for a stream: its description, else its delivery method and endpoint host. */
function streamName(stream: { description: string | null; delivery_method: string; endpoint_url: string }) {
  if (stream.description) return stream.description;
  const method = stream.delivery_method === 'urn:ietf:rfc:8936' ? 'poll' : 'push';
  const host = URL.parse(stream.endpoint_url)?.host ?? stream.endpoint_url;
  return `${method} ${host}`;
}

/** Newest first, with each event's deliveries. */
export async function listSecurityEvents(
  db: Db,
  query: SecurityEventQuery = {},
): Promise<Page<SecurityEventEntry>> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    throw new ValidationError('limit must be an integer from 1 to 200', 'limit');
  const after = decodeCursor(query.cursor);
  let select = db
    .selectFrom('security_events')
    .select(['id', 'txn', 'event_type', 'principal_type', 'principal_id', 'occurred_at', 'dispatched_at']);
  if (after !== undefined) {
    if (!/^\d{1,19}$/.test(after)) throw new ValidationError('cursor is not one this API returned', 'cursor');
    select = select.where('id', '<', after);
  }
  if (!query.includeStreamEvents) select = select.where('principal_type', '<>', 'stream');
  if (query.eventType) select = select.where('event_type', '=', query.eventType);
  if (query.principal) select = select.where('principal_id', '=', query.principal);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const events = rows.slice(0, limit);
  const ids = events.map((event) => String(event.id));
  const deliveries = ids.length
    ? await db
        .selectFrom('ssf_deliveries')
        .innerJoin('ssf_streams', 'ssf_streams.id', 'ssf_deliveries.stream_id')
        .select([
          'ssf_deliveries.security_event_id',
          'ssf_deliveries.stream_id',
          'ssf_deliveries.state',
          'ssf_deliveries.attempts',
          'ssf_deliveries.created_at',
          'ssf_deliveries.delivered_at',
          'ssf_deliveries.acked_at',
          'ssf_deliveries.last_error',
          'ssf_streams.description',
          'ssf_streams.delivery_method',
          'ssf_streams.endpoint_url',
        ])
        .where('ssf_deliveries.security_event_id', 'in', ids)
        .orderBy('ssf_streams.created_at')
        .execute()
    : [];
  const names = await principalNames(db, events);
  const page: Page<SecurityEventEntry> = {
    items: events.map((event) => ({
      id: String(event.id),
      txn: event.txn,
      event_type: event.event_type,
      principal_type: event.principal_type,
      principal_id: event.principal_id,
      principal_name: names.get(event.principal_id) ?? null,
      occurred_at: event.occurred_at.toISOString(),
      dispatched_at: iso(event.dispatched_at),
      deliveries: deliveries
        .filter((delivery) => String(delivery.security_event_id) === String(event.id))
        .map((delivery) => ({
          stream_id: delivery.stream_id,
          stream: streamName(delivery),
          state: delivery.state,
          attempts: delivery.attempts,
          created_at: delivery.created_at.toISOString(),
          delivered_at: iso(delivery.delivered_at),
          acked_at: iso(delivery.acked_at),
          propagation_ms: milliseconds(event.occurred_at, delivery.delivered_at ?? delivery.acked_at),
          last_error: delivery.last_error,
        })),
    })),
  };
  const last = events.at(-1);
  if (rows.length > limit && last) page.next_cursor = encodeCursor(String(last.id));
  return page;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function principalNames(
  db: Db,
  events: readonly { principal_type: string; principal_id: string }[],
): Promise<Map<string, string>> {
  const ids = (type: string) => [
    ...new Set(
      events.filter((e) => e.principal_type === type && UUID.test(e.principal_id)).map((e) => e.principal_id),
    ),
  ];
  const users = ids('user');
  const principals = ids('service_principal');
  const names = new Map<string, string>();
  if (users.length)
    for (const row of await db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', 'in', users)
      .execute())
      names.set(row.id, row.username);
  if (principals.length)
    for (const row of await db
      .selectFrom('service_principals')
      .innerJoin('applications', 'applications.id', 'service_principals.application_id')
      .select(['service_principals.id as id', 'applications.name as name'])
      .where('service_principals.id', 'in', principals)
      .execute())
      names.set(row.id, row.name);
  return names;
}

/** Every stream with its delivery counts, lag and health. */
export async function streamHealth(db: Db, now = new Date()): Promise<StreamHealth[]> {
  const streams = await db
    .selectFrom('ssf_streams')
    .select(['id', 'description', 'delivery_method', 'endpoint_url', 'status'])
    .orderBy('created_at')
    .execute();
  if (streams.length === 0) return [];
  const counts = await db
    .selectFrom('ssf_deliveries')
    .select(['stream_id', 'state', (eb) => eb.fn.countAll<string>().as('count')])
    .where('control', '=', false)
    .groupBy(['stream_id', 'state'])
    .execute();
  const oldest = await db
    .selectFrom('ssf_deliveries')
    .select(['stream_id', (eb) => eb.fn.min('created_at').as('oldest')])
    .where('state', 'in', ['pending', 'failed'])
    .where('control', '=', false)
    .groupBy('stream_id')
    .execute();
  // The last 100 delivered SETs of each stream: latest delivery and median propagation.
  const recent = await sql<{ stream_id: string; last_delivered_at: Date | null; median_ms: number | null }>`
    SELECT stream_id,
           max(delivered_at) AS last_delivered_at,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - occurred_at) * 1000) AS median_ms
    FROM (
      SELECT d.stream_id, d.delivered_at, e.occurred_at,
             row_number() OVER (PARTITION BY d.stream_id ORDER BY d.id DESC) AS n
      FROM ssf_deliveries d JOIN security_events e ON e.id = d.security_event_id
      WHERE d.delivered_at IS NOT NULL AND d.control = false
    ) latest
    WHERE n <= 100
    GROUP BY stream_id`.execute(db);
  return streams.map((stream) => {
    const deliveries: Partial<Record<SsfDeliveryState, number>> = {};
    for (const row of counts) if (row.stream_id === stream.id) deliveries[row.state] = Number(row.count);
    const pendingSince = oldest.find((row) => row.stream_id === stream.id)?.oldest as
      | Date
      | string
      | undefined;
    const lagSeconds = pendingSince
      ? Math.max(0, Math.round((now.getTime() - new Date(pendingSince).getTime()) / 1000))
      : 0;
    const latest = recent.rows.find((row) => row.stream_id === stream.id);
    const total = Object.values(deliveries).reduce((sum, count) => sum + (count ?? 0), 0);
    let health: StreamHealthState;
    if (stream.status === 'disabled') health = 'disabled';
    else if (stream.status === 'paused') health = 'paused';
    else if ((deliveries.dead_letter ?? 0) > 0 || (deliveries.failed ?? 0) > 0) health = 'failing';
    else if (lagSeconds > LAGGING_AFTER_SECONDS) health = 'lagging';
    else if (total === 0) health = 'idle';
    else health = 'healthy';
    return {
      id: stream.id,
      name: streamName(stream),
      delivery_method: stream.delivery_method,
      status: stream.status,
      health,
      deliveries,
      lag_seconds: lagSeconds,
      last_delivered_at: latest?.last_delivered_at ? new Date(latest.last_delivered_at).toISOString() : null,
      median_propagation_ms: latest?.median_ms == null ? null : Math.round(Number(latest.median_ms)),
    };
  });
}

export interface Overview {
  generated_at: string;
  recent_events: SecurityEventEntry[];
  streams: StreamHealth[];
  sign_ins: { last_24h: { success: number; failure: number; cae: number } };
}

/** What the console's first page shows. */
export async function overview(db: Db, now = new Date()): Promise<Overview> {
  const since = new Date(now.getTime() - 24 * 3600 * 1000);
  const [events, streams, signIns] = await Promise.all([
    listSecurityEvents(db, { limit: 20 }),
    streamHealth(db, now),
    db
      .selectFrom('sign_in_log')
      .select([
        sql<string>`count(*) FILTER (WHERE result = 'success')`.as('success'),
        sql<string>`count(*) FILTER (WHERE result = 'failure')`.as('failure'),
        sql<string>`count(*) FILTER (WHERE cae_token)`.as('cae'),
      ])
      .where('time', '>=', since)
      .executeTakeFirstOrThrow(),
  ]);
  return {
    generated_at: now.toISOString(),
    recent_events: events.items,
    streams,
    sign_ins: {
      last_24h: {
        success: Number(signIns.success),
        failure: Number(signIns.failure),
        cae: Number(signIns.cae),
      },
    },
  };
}
