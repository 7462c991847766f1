/**
 * The shape of every critical action: one transaction that changes state, records the audit entry and
 * enqueues the security events, all under one `txn`. Either all of it commits or none of it does.
 */
import { enqueueSecurityEvents, newTxn, type SecurityEventInput } from '../events/outbox.js';
import type { Db } from '../storage/database.js';
import { writeAudit } from './audit-log.js';
import { type DirectoryContext, timeOf } from './directory-context.js';
import { inTransaction } from './transaction.js';

export interface Cause {
  /** Ties the audit entry to the SETs of this change. */
  txn: string;
  /** The time of the change: `event_timestamp` of the events and the audit time. */
  at: Date;
}

export interface ActionOutcome<T> {
  targetType: string;
  targetId: string;
  before: object | null;
  after: object | null;
  events: SecurityEventInput[];
  result: T;
  /** False for a no-op (already in the asked state): nothing is written. */
  changed?: boolean;
}

export interface ActionResult<T> {
  result: T;
  changed: boolean;
  txn: string;
  /** How many security events were enqueued. */
  events: number;
}

export async function runCriticalAction<T>(
  context: DirectoryContext,
  action: string,
  work: (trx: Db, cause: Cause) => Promise<ActionOutcome<T>>,
): Promise<ActionResult<T>> {
  const cause: Cause = { txn: newTxn(), at: timeOf(context) };
  return inTransaction(context.db, async (trx) => {
    const outcome = await work(trx, cause);
    const changed = outcome.changed ?? true;
    if (changed) {
      await enqueueSecurityEvents(trx, cause.txn, outcome.events, cause.at);
      await writeAudit(
        trx,
        {
          actor: context.actor,
          action,
          targetType: outcome.targetType,
          targetId: outcome.targetId,
          before: outcome.before,
          after: outcome.after,
          txn: cause.txn,
        },
        cause.at,
      );
    }
    return { result: outcome.result, changed, txn: cause.txn, events: changed ? outcome.events.length : 0 };
  });
}
