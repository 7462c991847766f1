import type { AccessTokenClaims } from './claims.js';

/**
 * Why a location check refused: the client IP is blocked, the token predates a policy change for this
 * API, or the policies are not known yet. Each is a stable rejection reason (REJECTION_REASONS).
 */
export type LocationRefusal = 'location_blocked' | 'policy_changed' | 'location_policy_unavailable';

export type LocationDecision =
  | { allowed: true }
  /** `code` defaults to `location_blocked` (enforcers written before it existed). */
  | { allowed: false; reason: string; code?: LocationRefusal };

/**
 * Location (IP) policy enforcement, evaluated on every request after the token and revocation checks.
 * The Conditional Access integration implements it (policies synced from the issuer for this
 * audience); a violation becomes a claims challenge carrying `xms_rp_ipaddr` for CAE-capable tokens.
 * `check` is synchronous on purpose: policies are held in memory, the request never waits on them.
 */
export interface LocationEnforcer {
  /**
   * @param clientIp the client address after trusted-proxy resolution; undefined when it cannot be known.
   * @returns `reason` is a human-readable description, sent as error_description; `code` the stable reason.
   */
  check(claims: AccessTokenClaims, clientIp: string | undefined): LocationDecision;
}
