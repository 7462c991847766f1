/**
 * What an evaluation changes in the issued access token. The token service adds these claims and
 * applies the lifetime rule; the resource's LocationEnforcer reads them (docs/conditional-access.md).
 */
import type { ClaimsRequest } from '@opencae/protocol';
import type { EvaluationResult } from './evaluate.js';

/** Split tunnel / proxy exception: a one-hour token whose IP checks the resource suspends. */
export const IP_CHECK_SUSPENDED_LIFETIME_SECONDS = 3600;

export interface ConditionalAccessClaims {
  /** Policy version the token was evaluated under. */
  xms_pv: number;
  /** Ids of the location-blocking policies that apply to this principal and API (maybe empty). */
  xms_lp: string[];
  /** Present only for split-tunnel tokens: the resource skips IP checks for this token. */
  xms_ipchk?: 'suspended';
}

export function conditionalAccessClaims(result: EvaluationResult): ConditionalAccessClaims {
  return {
    xms_pv: result.policyVersion,
    xms_lp: result.decision.locationPolicyIds,
    ...(result.decision.ipCheck === 'suspended' ? { xms_ipchk: 'suspended' as const } : {}),
  };
}

export interface TokenShape {
  /** False: issue a non-CAE token (no `xms_cc`, standard 60–90 min lifetime) whatever the client declared. */
  caeAllowed: boolean;
  /** When set, the token lives exactly this long (overrides the CAE or standard range). */
  fixedLifetimeSeconds?: number;
}

/** The lifetime / CAE consequences of a decision (only meaningful when access is allowed). */
export function tokenShape(result: EvaluationResult): TokenShape {
  const { decision } = result;
  return {
    caeAllowed: !decision.caeDisabled,
    ...(decision.ipCheck === 'suspended'
      ? { fixedLifetimeSeconds: IP_CHECK_SUSPENDED_LIFETIME_SECONDS }
      : {}),
  };
}

/** The IP the resource saw, from a location challenge's claims (`access_token.xms_rp_ipaddr.value`). */
export function resourceIpFromClaims(claims: ClaimsRequest | undefined): string | undefined {
  const entry = claims?.access_token?.['xms_rp_ipaddr'];
  if (typeof entry !== 'object' || entry === null) return undefined;
  const value = (entry as { value?: unknown }).value;
  return typeof value === 'string' && value.length <= 64 ? value : undefined;
}
