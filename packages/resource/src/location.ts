import type { AccessTokenClaims } from './claims.js';

export type LocationDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Location (IP) policy enforcement, evaluated on every request after the token and revocation checks.
 * The Conditional Access integration implements it (policies synced from the issuer for this
 * audience); a violation becomes a claims challenge carrying `xms_rp_ipaddr` for CAE-capable tokens.
 * `check` is synchronous on purpose: policies are held in memory, the request never waits on them.
 */
export interface LocationEnforcer {
  /**
   * @param clientIp the client address after trusted-proxy resolution; undefined when it cannot be known.
   * @returns `reason` is a human-readable description, sent as error_description.
   */
  check(claims: AccessTokenClaims, clientIp: string | undefined): LocationDecision;
}
