/** NOTIFY channels of the transmitter (the outbox channel is owned by events/outbox.ts). */
export { SECURITY_EVENTS_CHANNEL } from '../events/outbox.js';

/** New or released deliveries; the payload is a comma-separated list of stream ids, or `*` for all. */
export const DELIVERIES_CHANNEL = 'opencae_ssf_deliveries';

/** NOTIFY payloads are limited to 8000 bytes; beyond this many streams, wake everyone. */
const MAX_LISTED_STREAMS = 100;

export function deliveriesPayload(streamIds: Iterable<string>): string {
  const ids = [...new Set(streamIds)];
  return ids.length > MAX_LISTED_STREAMS ? '*' : ids.join(',');
}
