/**
 * The audit log: who changed what, with the state before and after (never a secret or a hash). Each
 * entry is written in the transaction of the change it records.
 */
import type { Db } from '../storage/database.js';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';

export interface AuditEntryInput {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: object | null;
  after?: object | null;
  /** The `txn` of the security events the change caused, tying the log to the SETs. */
  txn?: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: object | null;
  after: object | null;
  txn: string | null;
}

export interface AuditQuery extends PageRequest {
  action?: string | undefined;
  actor?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export async function writeAudit(trx: Db, entry: AuditEntryInput, at = new Date()): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      at,
      actor: entry.actor,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      before: entry.before == null ? null : JSON.stringify(entry.before),
      after: entry.after == null ? null : JSON.stringify(entry.after),
      txn: entry.txn ?? null,
    })
    .execute();
}

/** Newest first. */
export async function listAudit(db: Db, query: AuditQuery = {}): Promise<Page<AuditEntry>> {
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db.selectFrom('audit_log').selectAll();
  if (after !== undefined) {
    if (!/^\d{1,19}$/.test(after)) return { items: [] };
    select = select.where('id', '<', after);
  }
  if (query.action) select = select.where('action', '=', query.action);
  if (query.actor) select = select.where('actor', '=', query.actor);
  if (query.targetType) select = select.where('target_type', '=', query.targetType);
  if (query.targetId) select = select.where('target_id', '=', query.targetId);
  if (query.since) select = select.where('at', '>=', query.since);
  if (query.until) select = select.where('at', '<', query.until);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  return toPage(
    rows,
    limit,
    (row) => String(row.id),
    (row) => ({
      id: String(row.id),
      at: row.at.toISOString(),
      actor: row.actor,
      action: row.action,
      target_type: row.target_type,
      target_id: row.target_id,
      before: row.before,
      after: row.after,
      txn: row.txn,
    }),
  );
}
