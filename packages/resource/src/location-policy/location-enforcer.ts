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
import type { LocationDecision, LocationEnforcer } from '../location.js';
import type { LocationPolicy } from './document.js';
import type { LocationRules } from './location-rules.js';

export type LocationCheckCode = 'location_blocked' | 'policy_changed' | 'policy_unavailable';

export type LocationCheck = { allowed: true } | { allowed: false; code: LocationCheckCode; reason: string };

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

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((entry): entry is string => typeof entry === 'string');
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

  /** The LocationEnforcer hook: `reason` becomes the challenge's error_description. */
  check(claims: AccessTokenClaims, clientIp: string | undefined): LocationDecision {
    const result = this.evaluate(claims, clientIp);
    return result.allowed ? result : { allowed: false, reason: result.reason };
  }

  /** The same decision with a stable code, for logs and metrics. */
  evaluate(claims: AccessTokenClaims, clientIp: string | undefined): LocationCheck {
    const rules = this.#source.rules;
    if (!rules) {
      return this.#allowWithoutPolicies
        ? { allowed: true }
        : { allowed: false, code: 'policy_unavailable', reason: 'location policies are not loaded yet' };
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
        reason: `policy_changed: the token was evaluated under policy version ${issuedUnder}; policies for this API changed since`,
      };
    }
    if (claims['xms_ipchk'] === 'suspended') return { allowed: true };

    const listed = stringList(claims['xms_lp']);
    const policies = listed
      ? listed
          .map((id) => rules.policy(id))
          .filter((policy): policy is LocationPolicy => policy !== undefined)
      : rules.policies.filter((policy) => assignedFromClaims(policy, claims));
    if (policies.length === 0) return { allowed: true };
    const containing = rules.locate(clientIp);
    for (const policy of policies) {
      if (rules.blocksAt(policy, containing)) {
        return {
          allowed: false,
          code: 'location_blocked',
          reason: `location_blocked: policy "${policy.name}" does not allow access from ${clientIp ?? 'an unknown address'}`,
        };
      }
    }
    return { allowed: true };
  }
}

export function createLocationEnforcer(
  source: LocationRulesSource,
  options?: LocationEnforcerOptions,
): ConditionalAccessLocationEnforcer {
  return new ConditionalAccessLocationEnforcer(source, options);
}
