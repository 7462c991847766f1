/** NOTIFY channels of the transmitter (the outbox channel is owned by events/outbox.ts). */
export { SECURITY_EVENTS_CHANNEL } from '../events/outbox.js';

/**
 * Deliveries became available. Payload `<kind>:<stream ids, comma-separated | *>`:
 * - `new`: just dispatched; push ones are already leased to the dispatching process, so only long
 *   polls need waking;
 * - `released`: held or replayed deliveries are due again; push workers must look too.
 */
export const DELIVERIES_CHANNEL = 'opencae_ssf_deliveries';

export type DeliveriesKind = 'new' | 'released';

/** NOTIFY payloads are limited to 8000 bytes; beyond this many streams, wake everyone. */
const MAX_LISTED_STREAMS = 100;

export function deliveriesPayload(kind: DeliveriesKind, streamIds: Iterable<string>): string {
  const ids = [...new Set(streamIds)];
  return `${kind}:${ids.length > MAX_LISTED_STREAMS ? '*' : ids.join(',')}`;
}

export function parseDeliveriesPayload(payload: string): { kind: DeliveriesKind; streams: string } {
  const separator = payload.indexOf(':');
  const kind = payload.slice(0, separator);
  // Anything unexpected is treated as the broadest wake-up.
  if (separator < 0 || (kind !== 'new' && kind !== 'released')) return { kind: 'released', streams: '*' };
  return { kind, streams: payload.slice(separator + 1) };
}
