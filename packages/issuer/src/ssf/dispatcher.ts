/**
 * Fans each outbox row (security_events) out to one delivery per matching stream, with its SET built
 * and signed, and marks the row dispatched — all in one transaction, so a crash leaves either both or
 * neither. Rows are claimed with FOR UPDATE SKIP LOCKED: several issuer processes share the outbox and
 * never fan out the same row twice (the unique (stream, event) constraint is the second guard).
 */
import { randomUUID } from 'node:crypto';
import { buildSet, DELIVERY, type SubjectIdentifier } from '@opencae/protocol';
import { type Selectable, sql } from 'kysely';
import type { Db } from '../storage/database.js';
import { notify } from '../storage/database.js';
import type { SecurityEventsTable, SsfStreamsTable } from '../storage/schema.js';
import { DELIVERIES_CHANNEL, deliveriesPayload } from './channels.js';
import { CONTROL_EVENT_TYPES } from './event-types.js';
import type { SetSigner } from './set-signer.js';
import { type StreamSubjectRule, streamIncludesSubject } from './subjects.js';

export interface DispatcherOptions {
  issuer: string;
  /** Outbox rows per transaction at most. */
  batchSize: number;
  /** SETs signed per transaction at most (rows × streams), so a transaction stays short. */
  maxSetsPerBatch?: number;
  /**
   * Push deliveries to enabled streams are created already leased to this process for this long and
   * returned, so they are sent at once without a claim round trip; if the process dies, the lease
   * expires and any process sends them.
   */
  pushLeaseMs: number;
}

export interface DispatchResult {
  events: number;
  deliveries: number;
  streamIds: Set<string>;
  /** True when the batch was full: there may be more rows waiting. */
  more: boolean;
  /** Push deliveries leased to this process, to send now (outbox order). */
  leased: LeasedPushDelivery[];
}

export interface LeasedPushDelivery {
  id: string;
  stream_id: string;
  security_event_id: string;
  jti: string;
  set_jwt: string;
  attempts: number;
  endpoint_url: string;
  authorization_header: string | null;
}

type StreamRow = Pick<
  Selectable<SsfStreamsTable>,
  'id' | 'aud' | 'status' | 'events_delivered' | 'delivery_method' | 'endpoint_url' | 'authorization_header'
>;

export class Dispatcher {
  constructor(
    private readonly db: Db,
    private readonly signer: SetSigner,
    private readonly options: DispatcherOptions,
  ) {}

  async dispatchBatch(): Promise<DispatchResult> {
    const signing = await this.signer.forBatch();
    return this.db.transaction().execute(async (trx) => {
      const streams = (await trx
        .selectFrom('ssf_streams')
        .select([
          'id',
          'aud',
          'status',
          'events_delivered',
          'delivery_method',
          'endpoint_url',
          'authorization_header',
        ])
        .execute()) as StreamRow[];
      const active = streams.filter((stream) => stream.status !== 'disabled');
      const maxSets = this.options.maxSetsPerBatch ?? 500;
      const limit = Math.max(
        1,
        Math.min(this.options.batchSize, Math.floor(maxSets / Math.max(1, active.length))),
      );

      const events = await trx
        .selectFrom('security_events')
        .selectAll()
        .where('dispatched_at', 'is', null)
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      if (events.length === 0)
        return { events: 0, deliveries: 0, streamIds: new Set(), more: false, leased: [] };

      const rules = await this.subjectRules(
        trx,
        active.map((stream) => stream.id),
      );
      const rows: DeliveryRow[] = [];
      const byId = new Map(streams.map((stream) => [stream.id, stream]));
      await Promise.all(
        events.flatMap((event) =>
          this.targets(event, streams, active, rules).map(async (stream) => {
            rows.push(await this.deliveryFor(event, stream, signing.sign));
          }),
        ),
      );
      // Outbox order within the transaction, so held deliveries keep the order of their causes.
      rows.sort((a, b) => Number(a.security_event_id) - Number(b.security_event_id));
      const leased: LeasedPushDelivery[] = [];
      for (let i = 0; i < rows.length; i += 200) {
        const inserted = await trx
          .insertInto('ssf_deliveries')
          .values(rows.slice(i, i + 200))
          .onConflict((conflict) => conflict.columns(['stream_id', 'security_event_id']).doNothing())
          .returning(['id', 'stream_id', 'security_event_id', 'jti', 'set_jwt', 'attempts', 'state'])
          .execute();
        for (const row of inserted) {
          const stream = byId.get(row.stream_id);
          if (row.state !== 'pending' || row.attempts === 0 || !stream) continue;
          leased.push({
            ...row,
            security_event_id: String(row.security_event_id),
            id: String(row.id),
            endpoint_url: stream.endpoint_url,
            authorization_header: stream.authorization_header,
          });
        }
      }
      await trx
        .updateTable('security_events')
        .set({ dispatched_at: sql`now()` })
        .where(
          'id',
          'in',
          events.map((event) => event.id),
        )
        .execute();
      const streamIds = new Set(rows.map((row) => row.stream_id));
      if (streamIds.size > 0) await notify(trx, DELIVERIES_CHANNEL, deliveriesPayload('new', streamIds));
      return {
        events: events.length,
        deliveries: rows.length,
        streamIds,
        more: events.length === limit,
        leased,
      };
    });
  }

  /** The streams an outbox row goes to. */
  private targets(
    event: Selectable<SecurityEventsTable>,
    streams: StreamRow[],
    active: StreamRow[],
    rules: Map<string, StreamSubjectRule[]>,
  ): StreamRow[] {
    if (event.principal_type === 'stream') {
      // Stream-management events concern one stream only, and reach it whatever it requested.
      if (!CONTROL_EVENT_TYPES.includes(event.event_type)) return [];
      return streams.filter((stream) => stream.id === event.principal_id);
    }
    const subject = parseJson<SubjectIdentifier>(event.subject);
    return active.filter(
      (stream) =>
        parseJson<string[]>(stream.events_delivered).includes(event.event_type) &&
        streamIncludesSubject(rules.get(stream.id) ?? [], subject),
    );
  }

  private async deliveryFor(
    event: Selectable<SecurityEventsTable>,
    stream: StreamRow,
    sign: (payload: ReturnType<typeof buildSet>) => Promise<string>,
  ): Promise<DeliveryRow> {
    const jti = randomUUID();
    const control = event.principal_type === 'stream';
    const sendNow = stream.delivery_method === DELIVERY.push && (stream.status === 'enabled' || control);
    const base = {
      stream_id: stream.id,
      security_event_id: String(event.id),
      jti,
      event_type: event.event_type,
      control,
      // Leased to this process (attempt 1 under way) so the send needs no claim round trip.
      ...(sendNow
        ? {
            attempts: 1,
            next_attempt_at: sql<Date>`now() + ${this.options.pushLeaseMs} * interval '1 millisecond'`,
          }
        : {}),
    };
    try {
      const payload = buildSet({
        issuer: this.options.issuer,
        audience: stream.aud,
        subject: parseJson<SubjectIdentifier>(event.subject),
        eventType: event.event_type,
        event: parseJson<Record<string, unknown>>(event.event),
        txn: event.txn,
        jti,
      });
      return { ...base, set_jwt: await sign(payload) };
    } catch (error) {
      // An outbox row that cannot become a valid SET must not block the others: it is recorded as a
      // failed delivery, visible to administrators, instead of being retried forever.
      return {
        ...base,
        set_jwt: '',
        state: 'failed',
        last_error: `the event cannot be sent: ${(error as Error).message}`.slice(0, 1000),
      };
    }
  }

  private async subjectRules(trx: Db, streamIds: string[]): Promise<Map<string, StreamSubjectRule[]>> {
    const rules = new Map<string, StreamSubjectRule[]>();
    if (streamIds.length === 0) return rules;
    const rows = await trx
      .selectFrom('ssf_stream_subjects')
      .select(['stream_id', 'subject', 'mode'])
      .where('stream_id', 'in', streamIds)
      .execute();
    for (const row of rows) {
      const list = rules.get(row.stream_id) ?? [];
      list.push({ subject: parseJson<SubjectIdentifier>(row.subject), mode: row.mode });
      rules.set(row.stream_id, list);
    }
    return rules;
  }
}

interface DeliveryRow {
  stream_id: string;
  security_event_id: string;
  jti: string;
  event_type: string;
  control: boolean;
  set_jwt: string;
  attempts?: number;
  next_attempt_at?: ReturnType<typeof sql<Date>>;
  state?: 'failed';
  last_error?: string;
}

function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
