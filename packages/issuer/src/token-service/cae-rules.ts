/**
 * The CAE token rules, free of any framework: which lifetime a token gets, whether it carries
 * `xms_cc`, when the client is told to refresh, and which essential access-token claims this issuer
 * can honour. The provider configuration calls these; tests check them directly.
 */
import { randomInt } from 'node:crypto';
import { type ClaimsRequest, CP1, essentialNbf, hasCapability } from '@opencae/protocol';
import type { IssuerConfig } from '../config.js';
import { TokenServiceError } from './errors.js';
import { isJsonObject as isPlainObject } from './json-object.js';

/** Token responses for tokens living longer than this carry `refresh_in`. */
export const REFRESH_IN_THRESHOLD_SECONDS = 2 * 3600;

/** How far in the future a challenge's essential `nbf` may lie (clock skew between resource and issuer). */
export const NBF_SKEW_SECONDS = 60;

export interface CaeDecision {
  /** The client declared `cp1` and the API is CAE-enabled: long-lived token with `xms_cc`. */
  cae: boolean;
  lifetimeSeconds: number;
}

/** Decides the lifetime: uniformly random within the configured range, per token. */
export function decideLifetime(
  lifetimes: IssuerConfig['lifetimes'],
  clientIsCaeCapable: boolean,
  apiIsCaeEnabled: boolean,
): CaeDecision {
  const cae = clientIsCaeCapable && apiIsCaeEnabled;
  const range = cae ? lifetimes.cae : lifetimes.standard;
  return { cae, lifetimeSeconds: randomInt(range.minSeconds, range.maxSeconds + 1) };
}

/** The client is CAE-capable for this request when `access_token.xms_cc.values` has `cp1` (any case). */
export function isCaeCapable(claims: ClaimsRequest | undefined): boolean {
  return hasCapability(claims, CP1);
}

/** `refresh_in` (seconds) for a token response, or undefined when the token is short-lived. */
export function refreshIn(expiresIn: number): number | undefined {
  return expiresIn > REFRESH_IN_THRESHOLD_SECONDS ? Math.floor(expiresIn / 2) : undefined;
}

/**
 * Access-token claims this issuer always issues (so an essential request for them, without a value,
 * is satisfied), and those a challenge may carry that are satisfied by issuing a fresh token.
 */
const ALWAYS_ISSUED = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'jti',
  'azp',
  'oid',
  'tid',
  'idtyp',
  'ipaddr',
  'scp',
  'roles',
  'sid',
]);
/** `xms_cc` is the capability declaration; `xms_rp_ipaddr` reports the IP the resource saw (informative). */
const INFORMATIVE = new Set(['xms_cc', 'xms_rp_ipaddr']);

export interface EssentialClaimsOutcome {
  /** The new token must not be issued before this (unix seconds). */
  notBefore?: number;
}

/**
 * Checks the essential claims of `claims.access_token` against what this issuer can promise.
 * Throws TokenServiceError ERR_CLAIMS_UNSATISFIABLE (→ OAuth error) with the reason.
 */
export function evaluateEssentialClaims(
  claims: ClaimsRequest | undefined,
  nowSeconds: number,
): EssentialClaimsOutcome {
  const accessToken = claims?.access_token;
  if (!isPlainObject(accessToken)) return {};
  const outcome: EssentialClaimsOutcome = {};
  for (const [name, request] of Object.entries(accessToken)) {
    if (!isPlainObject(request) || request.essential !== true) continue;
    if (name === 'nbf') {
      const nbf = essentialNbf(claims);
      if (nbf === undefined) {
        throw new TokenServiceError(
          'ERR_CLAIMS_UNSATISFIABLE',
          'the essential access_token claim "nbf" needs a value in unix seconds',
        );
      }
      if (nbf > nowSeconds + NBF_SKEW_SECONDS) {
        throw new TokenServiceError(
          'ERR_CLAIMS_UNSATISFIABLE',
          `the essential access_token claim "nbf" (${nbf}) lies more than ${NBF_SKEW_SECONDS} s in the future`,
        );
      }
      outcome.notBefore = nbf;
      continue;
    }
    if (INFORMATIVE.has(name)) continue;
    const constrained = request.value !== undefined || request.values !== undefined;
    if (!ALWAYS_ISSUED.has(name) || constrained) {
      throw new TokenServiceError(
        'ERR_CLAIMS_UNSATISFIABLE',
        constrained
          ? `the essential access_token claim "${name}" with a required value cannot be satisfied by this issuer`
          : `the essential access_token claim "${name}" is not issued by this issuer`,
      );
    }
  }
  return outcome;
}
