/** The event types this transmitter emits (see docs/ssf.md for the mapping from admin actions). */
import { CAEP, OPENCAE, RISC, SSF } from '@opencae/protocol';

/** Security events caused by directory changes, risk and policy. */
export const SECURITY_EVENT_TYPES: readonly string[] = [
  RISC.accountDisabled,
  RISC.accountEnabled,
  RISC.accountPurged,
  CAEP.credentialChange,
  CAEP.sessionRevoked,
  CAEP.riskLevelChange,
  OPENCAE.policyChanged,
];

/** Stream-management events: always delivered on the stream they concern, whatever was requested. */
export const CONTROL_EVENT_TYPES: readonly string[] = [SSF.verification, SSF.streamUpdated];

export const EVENTS_SUPPORTED: readonly string[] = [...SECURITY_EVENT_TYPES, ...CONTROL_EVENT_TYPES];

/** SSF 1.0: events_delivered is the intersection of supported and requested; unknown types are ignored. */
export function eventsDelivered(requested: readonly string[] | null): string[] {
  if (requested === null) return [...EVENTS_SUPPORTED];
  const wanted = new Set(requested);
  return EVENTS_SUPPORTED.filter((type) => wanted.has(type));
}
