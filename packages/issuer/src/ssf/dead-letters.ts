/** Administrator view of deliveries that did not get through, and their replay. */
import { sql } from 'kysely';
import { type Db, notify } from '../storage/database.js';
import type { SsfDeliveryState } from '../storage/schema.js';
import { DELIVERIES_CHANNEL, deliveriesPayload } from './channels.js';

export type ReplayableState = Extract<SsfDeliveryState, 'dead_letter' | 'failed'>;

export interface DeliverySummary {
  id: string;
  jti: string;
  event_type: string;
  state: SsfDeliveryState;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export async function listDeliveries(
  db: Db,
  streamId: string,
  states: readonly SsfDeliveryState[],
  limit = 100,
): Promise<DeliverySummary[]> {
  return db
    .selectFrom('ssf_deliveries')
    .select(['id', 'jti', 'event_type', 'state', 'attempts', 'last_error', 'created_at', 'delivered_at'])
    .where('stream_id', '=', streamId)
    .where('state', 'in', [...states])
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * Puts dead-lettered (or failed) deliveries back in the queue with a fresh attempt budget. The SET is
 * the same, same `jti`: a receiver that did get it the first time discards the copy.
 */
export async function replayDeliveries(
  db: Db,
  streamId: string,
  options: { ids?: readonly string[]; states?: readonly ReplayableState[] } = {},
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let query = trx
      .updateTable('ssf_deliveries')
      .set({ state: 'pending', attempts: 0, next_attempt_at: sql`now()` })
      .where('stream_id', '=', streamId)
      .where('state', 'in', [...(options.states ?? ['dead_letter'])])
      // A SET that could not be built has nothing to replay.
      .where('set_jwt', '<>', '');
    if (options.ids) query = query.where('id', 'in', [...options.ids]);
    const result = await query.executeTakeFirst();
    const count = Number(result.numUpdatedRows);
    if (count > 0) await notify(trx, DELIVERIES_CHANNEL, deliveriesPayload('released', [streamId]));
    return count;
  });
}
