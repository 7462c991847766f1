/**
 * The resource-side LocationEnforcer: on every request, checks the client IP against the location
 * policies that apply to the token's principal, and challenges CAE-capable tokens minted under a policy
 * version older than the last change concerning this API. Synchronous and in-memory.
 *
 * Token claims it reads (added by the OpenCAE issuer, docs/conditional-access.md):
 * - `xms_lp`: ids of the location-blocking policies that apply to the principal (evaluated at issuance,
 *   so group membership, guest status, risk and capability need not be in the token);
 * - `xms_pv`: the policy version the token was evaluated under;
 * - `xms_ipchk: "suspended"`: a one-hour split-tunnel token whose IP checks are suspended.
 */
import { CP1, tokenHasCapability } from '@opencae/protocol';
import type { AccessTokenClaims } from '../claims.js';
import type { LocationEnforcer, LocationRefusal } from '../location.js';
import type { LocationPolicy } from './document.js';
import type { LocationRules } from './location-rules.js';

export type LocationCheckCode = LocationRefusal;

export type LocationCheck = { allowed: true } | { allowed: false; code: LocationCheckCode; reason: string };

/** Shared: the allowed answer is the same for every request, so it is not allocated per request. */
const ALLOWED: LocationCheck = Object.freeze({ allowed: true });

/** Where the enforcer reads policies from: a LocationPolicyClient, or a fixed set in tests. */
export interface LocationRulesSource {
  readonly rules: LocationRules | undefined;
  readonly requiredVersion: number;
}

export interface LocationEnforcerOptions {
  /**
   * Without policies (the first fetch has not succeeded) every request is refused: policies exist to
   * block, so not knowing them must not allow. Set true only where availability matters more.
   */
  allowWithoutPolicies?: boolean;
}

function blocked(policy: LocationPolicy, clientIp: string | undefined): LocationCheck {
  return {
    allowed: false,
    code: 'location_blocked',
    reason: `policy "${policy.name}" does not allow access from ${clientIp ?? 'an unknown address'}`,
  };
}

/**
 * For tokens without `xms_lp` (issuers that do not evaluate Conditional Access): the policies whose
 * assignments can be decided from the token alone — `All` or the object id, minus id exclusions.
 * Group and guest assignments cannot be, and are not applied.
 */
function assignedFromClaims(policy: LocationPolicy, claims: AccessTokenClaims): boolean {
  const oid = typeof claims.oid === 'string' ? claims.oid : typeof claims.sub === 'string' ? claims.sub : '';
  const app =
    claims.idtyp === 'app' || (claims.idtyp === undefined && claims.scp === undefined && !!claims.roles);
  const { include, exclude } = app ? policy.assignments.servicePrincipals : policy.assignments.users;
  return (include.includes('All') || include.includes(oid)) && !exclude.includes(oid);
}

export class ConditionalAccessLocationEnforcer implements LocationEnforcer {
  readonly #source: LocationRulesSource;
  readonly #allowWithoutPolicies: boolean;

  constructor(source: LocationRulesSource, options: LocationEnforcerOptions = {}) {
    this.#source = source;
    this.#allowWithoutPolicies = options.allowWithoutPolicies === true;
  }

  /** The LocationEnforcer hook: `code` is the rejection reason, `reason` the error_description. */
  check(claims: AccessTokenClaims, clientIp: string | undefined): LocationCheck {
    const rules = this.#source.rules;
    if (!rules) {
      return this.#allowWithoutPolicies
        ? ALLOWED
        : {
            allowed: false,
            code: 'location_policy_unavailable',
            reason: 'location policies are not loaded yet',
          };
    }
    const issuedUnder = claims['xms_pv'];
    if (
      typeof issuedUnder === 'number' &&
      issuedUnder < this.#source.requiredVersion &&
      tokenHasCapability(claims.xms_cc, CP1)
    ) {
      return {
        allowed: false,
        code: 'policy_changed',
        reason: `the token was evaluated under policy version ${issuedUnder}; policies for this API changed since`,
      };
    }
    if (claims['xms_ipchk'] === 'suspended') return ALLOWED;

    // Plain loops and a lazily located address: this runs on every request, most often with `xms_lp: []`.
    const listed = claims['xms_lp'];
    let containing: readonly string[] | undefined;
    if (Array.isArray(listed)) {
      for (const id of listed) {
        const policy = typeof id === 'string' ? rules.policy(id) : undefined;
        if (policy === undefined) continue;
        containing ??= rules.locate(clientIp);
        if (rules.blocksAt(policy, containing)) return blocked(policy, clientIp);
      }
      return ALLOWED;
    }
    for (const policy of rules.policies) {
      if (!assignedFromClaims(policy, claims)) continue;
      containing ??= rules.locate(clientIp);
      if (rules.blocksAt(policy, containing)) return blocked(policy, clientIp);
    }
    return ALLOWED;
  }
}

export function createLocationEnforcer(
  source: LocationRulesSource,
  options?: LocationEnforcerOptions,
): ConditionalAccessLocationEnforcer {
  return new ConditionalAccessLocationEnforcer(source, options);
}
