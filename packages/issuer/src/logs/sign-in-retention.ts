/**
 * Retention of the sign-in log: entries older than the configured number of days are deleted in
 * bounded batches (short transactions, no long lock on a table the token endpoint keeps writing to),
 * driven by the `time` index.
 */
import type { Db } from '../storage/database.js';

export const DEFAULT_RETENTION_DAYS = 30;
const DELETE_BATCH = 10_000;

/** Deletes entries older than `retentionDays`; returns how many. */
export async function deleteExpiredSignIns(db: Db, retentionDays: number, now = new Date()): Promise<number> {
  if (!Number.isFinite(retentionDays) || retentionDays <= 0)
    throw new RangeError('retentionDays must be a positive number');
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 3600 * 1000);
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('sign_in_log')
      .where(
        'id',
        'in',
        db
          .selectFrom('sign_in_log')
          .select('id')
          .where('time', '<', cutoff)
          .orderBy('time')
          .limit(DELETE_BATCH),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < DELETE_BATCH) return total;
  }
}
