import type { Db } from '../storage/database.js';

/**
 * Runs `work` in a transaction: the caller's when `db` already is one (so a caller can compose several
 * services atomically), a new one otherwise.
 */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db);
  return db.transaction().execute(work);
}
