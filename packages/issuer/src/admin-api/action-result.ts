import type { ActionResult } from '../directory/critical-action.js';

/** The answer of a critical action: the object under `key`, whether it changed, its txn and event count. */
export function actionResult<T>(key: string, outcome: ActionResult<T>) {
  return { [key]: outcome.result, changed: outcome.changed, txn: outcome.txn, events: outcome.events };
}
