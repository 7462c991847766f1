import { CAEP, RISC } from '@opencae/protocol';
import type { RevocationChange } from './revocation-state.js';

/** What an event does to the subjects it names. */
type Effect = { revoke: boolean; disabled?: boolean } | 'risk';

const EFFECTS: Record<string, Effect> = {
  [CAEP.sessionRevoked]: { revoke: true },
  [CAEP.credentialChange]: { revoke: true },
  // Claims in outstanding tokens (groups, roles) are stale: have CAE clients fetch fresh ones.
  [CAEP.tokenClaimsChange]: { revoke: true },
  [CAEP.riskLevelChange]: 'risk',
  // A disabled or deleted account also revokes its tokens, so re-enabling it does not revive them,
  // and so the disabled flag can be forgotten once every such token has expired.
  [RISC.accountDisabled]: { revoke: true, disabled: true },
  [RISC.accountPurged]: { revoke: true, disabled: true },
  [RISC.accountEnabled]: { revoke: false, disabled: false },
  [RISC.sessionsRevoked]: { revoke: true },
  [RISC.credentialCompromise]: { revoke: true },
  [RISC.accountCredentialChangeRequired]: { revoke: true },
  [RISC.identifierRecycled]: { revoke: true },
};

/** The event types this module turns into revocation state. */
export const REVOCATION_EVENT_TYPES: readonly string[] = Object.keys(EFFECTS);

const REVOKING_RISK = new Set(['high', 'critical']);

/**
 * The changes one security event makes to the subject keys it designates. The time is the event's
 * `event_timestamp` (CAEP) when present, else the SET's `iat`. Unknown event types change nothing.
 */
export function revocationChanges(
  eventType: string,
  event: Record<string, unknown>,
  keys: readonly string[],
  setIssuedAt: number,
): RevocationChange[] {
  const effect = EFFECTS[eventType];
  if (!effect || keys.length === 0) return [];
  const timestamp = event.event_timestamp;
  const at =
    typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp > 0 ? timestamp : setIssuedAt;
  return keys.map((key) => {
    if (effect === 'risk') {
      const level = typeof event.current_level === 'string' ? event.current_level.toLowerCase() : 'unknown';
      return REVOKING_RISK.has(level)
        ? { key, at, riskLevel: level, revokeBefore: at }
        : { key, at, riskLevel: level };
    }
    const change: RevocationChange = { key, at };
    if (effect.revoke) change.revokeBefore = at;
    if (effect.disabled !== undefined) change.disabled = effect.disabled;
    return change;
  });
}
