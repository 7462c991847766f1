/**
 * The stream management core (SSF 1.0 §8): create, read, update, replace, delete, status, subjects and
 * verification, for one receiver at a time. Framework-agnostic; routes.ts adapts it to HTTP.
 */
import { randomUUID } from 'node:crypto';
import { DELIVERY, SSF, type SubjectIdentifier, subjectIdentifierSchema } from '@opencae/protocol';
import type { Selectable } from 'kysely';
import { SecretBox } from '../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import { enqueueSecurityEvents, newTxn } from '../events/outbox.js';
import { type Db, notify } from '../storage/database.js';
import type { SsfStreamStatus, SsfStreamsTable } from '../storage/schema.js';
import { DELIVERIES_CHANNEL, deliveriesPayload } from './channels.js';
import { SsfError, streamNotFound } from './errors.js';
import { eventsDelivered } from './event-types.js';
import type { PushUrlGuard } from './push-url-guard.js';
import {
  checkTransmitterSupplied,
  type ReceiverSettings,
  renderStream,
  type StreamRecord,
} from './stream-config.js';
import { subjectKey } from './subjects.js';

export interface StreamServiceOptions {
  issuer: string;
  /** Base URL of poll endpoints; the stream id is appended. */
  pollUrlBase: string;
  minVerificationIntervalSeconds: number;
  pushUrlGuard: PushUrlGuard;
  /** Encrypts the push authorization header at rest (none: stored as given). */
  secrets?: SecretBox;
}

const STATUSES: readonly SsfStreamStatus[] = ['enabled', 'paused', 'disabled'];

export class StreamService {
  private readonly secrets: SecretBox;

  constructor(
    private readonly db: Db,
    private readonly options: StreamServiceOptions,
  ) {
    this.secrets = options.secrets ?? SecretBox.plaintext();
  }

  async create(owner: string, settings: ReceiverSettings): Promise<StreamRecord> {
    const id = randomUUID();
    const delivery = await this.resolveDelivery(id, settings.delivery ?? null);
    const eventsRequested = settings.eventsRequested ?? null;
    const row = await this.db
      .insertInto('ssf_streams')
      .values({
        id,
        owner_client_id: owner,
        aud: owner,
        events_requested: eventsRequested === null ? null : JSON.stringify(eventsRequested),
        events_delivered: JSON.stringify(eventsDelivered(eventsRequested)),
        delivery_method: delivery.method,
        endpoint_url: delivery.endpointUrl,
        authorization_header: this.secrets.sealNullable(
          SECRET_COLUMNS.pushAuthorization,
          delivery.authorizationHeader,
        ),
        min_verification_interval: this.options.minVerificationIntervalSeconds,
        description: settings.description ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row, this.secrets);
  }

  async list(owner: string): Promise<StreamRecord[]> {
    const rows = await this.db
      .selectFrom('ssf_streams')
      .selectAll()
      .where('owner_client_id', '=', owner)
      .orderBy('created_at')
      .execute();
    return rows.map((row) => toRecord(row, this.secrets));
  }

  /** The stream if it exists and belongs to `owner`; otherwise 404 (another receiver's stream is not revealed). */
  async get(owner: string, streamId: string, db: Db = this.db, forUpdate = false): Promise<StreamRecord> {
    if (!isUuid(streamId)) throw streamNotFound();
    let query = db
      .selectFrom('ssf_streams')
      .selectAll()
      .where('id', '=', streamId)
      .where('owner_client_id', '=', owner);
    if (forUpdate) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) throw streamNotFound();
    return toRecord(row, this.secrets);
  }

  /** PATCH: members present are changed, the rest kept. PUT (`replace`): members absent are reset. */
  async update(
    owner: string,
    streamId: string,
    settings: ReceiverSettings,
    body: Record<string, unknown>,
    replace: boolean,
  ): Promise<StreamRecord> {
    const current = await this.get(owner, streamId);
    checkTransmitterSupplied(body, renderStream(current, this.options.issuer));
    const effective: ReceiverSettings = replace
      ? {
          eventsRequested: settings.eventsRequested ?? null,
          delivery: settings.delivery ?? null,
          description: settings.description ?? null,
        }
      : settings;
    const changes: Partial<Record<keyof SsfStreamsTable, unknown>> = { updated_at: new Date() };
    if (effective.eventsRequested !== undefined) {
      changes.events_requested =
        effective.eventsRequested === null ? null : JSON.stringify(effective.eventsRequested);
      changes.events_delivered = JSON.stringify(eventsDelivered(effective.eventsRequested));
    }
    if (effective.delivery !== undefined) {
      const delivery = await this.resolveDelivery(streamId, effective.delivery);
      changes.delivery_method = delivery.method;
      changes.endpoint_url = delivery.endpointUrl;
      changes.authorization_header = this.secrets.sealNullable(
        SECRET_COLUMNS.pushAuthorization,
        delivery.authorizationHeader,
      );
    }
    if (effective.description !== undefined) changes.description = effective.description;
    const row = await this.db
      .updateTable('ssf_streams')
      .set(changes as never)
      .where('id', '=', streamId)
      .where('owner_client_id', '=', owner)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw streamNotFound();
    return toRecord(row, this.secrets);
  }

  async delete(owner: string, streamId: string): Promise<void> {
    if (!isUuid(streamId)) throw streamNotFound();
    const result = await this.db
      .deleteFrom('ssf_streams')
      .where('id', '=', streamId)
      .where('owner_client_id', '=', owner)
      .executeTakeFirst();
    if (result.numDeletedRows === 0n) throw streamNotFound();
  }

  /**
   * Changes the status. Paused holds new deliveries (in outbox order) until enabled; disabled drops what
   * is held and creates no more. Every change emits a stream-updated event on the stream itself.
   */
  async setStatus(
    owner: string,
    streamId: string,
    status: string,
    reason: string | undefined,
  ): Promise<StreamRecord> {
    if (!STATUSES.includes(status as SsfStreamStatus))
      throw new SsfError('invalid_request', 'status must be enabled, paused or disabled');
    return this.db.transaction().execute(async (trx) => {
      const current = await this.get(owner, streamId, trx, true);
      const row = await trx
        .updateTable('ssf_streams')
        .set({ status: status as SsfStreamStatus, status_reason: reason ?? null, updated_at: new Date() })
        .where('id', '=', streamId)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (current.status !== status) {
        if (status === 'disabled') {
          await trx
            .deleteFrom('ssf_deliveries')
            .where('stream_id', '=', streamId)
            .where('control', '=', false)
            .where('state', 'in', ['pending', 'delivered'])
            .execute();
        }
        await enqueueStreamEvent(trx, streamId, SSF.streamUpdated, {
          status,
          ...(reason !== undefined ? { reason } : {}),
        });
        // Held deliveries become sendable.
        if (status === 'enabled')
          await notify(trx, DELIVERIES_CHANNEL, deliveriesPayload('released', [streamId]));
      }
      return toRecord(row, this.secrets);
    });
  }

  /**
   * Status for one subject: the stream's status if the subject is included, `disabled` if it was
   * removed. An invalid subject is a 404 (SSF 1.0 §8.1.2.1).
   */
  async statusFor(
    owner: string,
    streamId: string,
    subject: SubjectIdentifier | undefined,
  ): Promise<{ status: SsfStreamStatus; reason?: string }> {
    const stream = await this.get(owner, streamId);
    const base = { status: stream.status, ...(stream.statusReason ? { reason: stream.statusReason } : {}) };
    if (!subject) return base;
    const rule = await this.db
      .selectFrom('ssf_stream_subjects')
      .select('mode')
      .where('stream_id', '=', streamId)
      .where('subject_key', '=', subjectKey(subject))
      .executeTakeFirst();
    return rule?.mode === 'removed' ? { status: 'disabled' } : base;
  }

  async addSubject(owner: string, streamId: string, subject: unknown, verified?: boolean): Promise<void> {
    await this.setSubjectRule(owner, streamId, subject, 'added', verified);
  }

  async removeSubject(owner: string, streamId: string, subject: unknown): Promise<void> {
    await this.setSubjectRule(owner, streamId, subject, 'removed');
  }

  /**
   * Queues a verification event carrying `state`. Answers 429 (with the seconds to wait) when the last
   * request is more recent than min_verification_interval.
   */
  async requestVerification(owner: string, streamId: string, state: string | undefined): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const stream = await this.get(owner, streamId, trx, true);
      if (stream.status === 'disabled')
        throw new SsfError('stream_disabled', 'the stream is disabled; enable it before verifying it');
      const now = Date.now();
      if (stream.lastVerificationAt) {
        const nextAllowed = stream.lastVerificationAt.getTime() + stream.minVerificationInterval * 1000;
        if (now < nextAllowed) {
          throw new SsfError('too_many_requests', 'verification was requested too recently', {
            retryAfterSeconds: Math.max(1, Math.ceil((nextAllowed - now) / 1000)),
          });
        }
      }
      await trx
        .updateTable('ssf_streams')
        .set({ last_verification_at: new Date(now) })
        .where('id', '=', streamId)
        .execute();
      await enqueueStreamEvent(trx, streamId, SSF.verification, state !== undefined ? { state } : {});
    });
  }

  private async setSubjectRule(
    owner: string,
    streamId: string,
    rawSubject: unknown,
    mode: 'added' | 'removed',
    verified?: boolean,
  ): Promise<void> {
    const parsed = subjectIdentifierSchema.safeParse(rawSubject);
    if (!parsed.success) throw new SsfError('invalid_request', 'subject is not a valid subject identifier');
    await this.get(owner, streamId);
    const subject = parsed.data;
    const key = subjectKey(subject);
    await this.db
      .insertInto('ssf_stream_subjects')
      .values({
        stream_id: streamId,
        subject_key: key,
        subject: JSON.stringify(subject),
        mode,
        verified: verified ?? null,
      })
      .onConflict((conflict) =>
        conflict.columns(['stream_id', 'subject_key']).doUpdateSet({
          mode,
          verified: verified ?? null,
          updated_at: new Date(),
        }),
      )
      .execute();
  }

  private async resolveDelivery(
    streamId: string,
    delivery: ReceiverSettings['delivery'] | null,
  ): Promise<{
    method: typeof DELIVERY.push | typeof DELIVERY.poll;
    endpointUrl: string;
    authorizationHeader: string | null;
  }> {
    if (!delivery || delivery.method === DELIVERY.poll) {
      return {
        method: DELIVERY.poll,
        endpointUrl: `${this.options.pollUrlBase}/${streamId}`,
        authorizationHeader: null,
      };
    }
    const url = await this.options.pushUrlGuard.check(delivery.endpointUrl ?? '');
    return {
      method: DELIVERY.push,
      endpointUrl: url.href,
      authorizationHeader: delivery.authorizationHeader ?? null,
    };
  }
}

/** Stream-management events go through the outbox too, so they are as durable as any other. */
async function enqueueStreamEvent(
  trx: Db,
  streamId: string,
  eventType: string,
  event: Record<string, unknown>,
): Promise<void> {
  await enqueueSecurityEvents(trx, newTxn(), [
    {
      eventType,
      // SSF 1.0: events about the stream name the stream as an opaque subject.
      subject: { format: 'opaque', id: streamId },
      event,
      principalType: 'stream',
      principalId: streamId,
    },
  ]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isUuid(value: string): boolean {
  return UUID.test(value);
}

function toRecord(row: Selectable<SsfStreamsTable>, secrets: SecretBox): StreamRecord {
  const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
  return {
    id: row.id,
    ownerClientId: row.owner_client_id,
    aud: row.aud,
    eventsRequested: row.events_requested === null ? null : json<string[]>(row.events_requested),
    eventsDelivered: json<string[]>(row.events_delivered),
    deliveryMethod: row.delivery_method,
    endpointUrl: row.endpoint_url,
    authorizationHeader: secrets.openNullable(SECRET_COLUMNS.pushAuthorization, row.authorization_header),
    status: row.status,
    statusReason: row.status_reason,
    minVerificationInterval: row.min_verification_interval,
    lastVerificationAt: row.last_verification_at,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
