/**
 * The transactional outbox. A state change and the security events it causes are written in the same
 * transaction, so a crash can never keep one without the other. The NOTIFY is delivered on commit and
 * wakes the transmitter's dispatcher within milliseconds.
 */
import { randomUUID } from 'node:crypto';
import type { SubjectIdentifier } from '@opencae/protocol';
import { type Db, notify } from '../storage/database.js';
import type { PrincipalType } from '../storage/schema.js';

export const SECURITY_EVENTS_CHANNEL = 'opencae_security_events';

export interface SecurityEventInput {
  eventType: string;
  subject: SubjectIdentifier;
  /** The event body (event_timestamp, reason_admin, ... as the event type defines). */
  event: Record<string, unknown>;
  principalType: PrincipalType;
  principalId: string;
}

/** One cause (an admin action, a risk signal) = one `txn` shared by all the SETs it produces. */
export function newTxn(): string {
  return randomUUID();
}

/** Must be called with the transaction that makes the state change. Returns the outbox ids. */
export async function enqueueSecurityEvents(
  trx: Db,
  txn: string,
  events: readonly SecurityEventInput[],
  occurredAt = new Date(),
): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = await trx
    .insertInto('security_events')
    .values(
      events.map((event) => ({
        txn,
        event_type: event.eventType,
        subject: JSON.stringify(event.subject),
        event: JSON.stringify(event.event),
        principal_type: event.principalType,
        principal_id: event.principalId,
        occurred_at: occurredAt,
      })),
    )
    .returning('id')
    .execute();
  await notify(trx, SECURITY_EVENTS_CHANNEL, txn);
  return rows.map((row) => String(row.id));
}
