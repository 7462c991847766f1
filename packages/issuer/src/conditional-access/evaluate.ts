/**
 * Conditional Access evaluation: a pure, deterministic function of (policies, named locations, request)
 * → one result per policy and the decision the token service enforces. No I/O, no clock, no
 * randomness; the same input always gives the same output, whatever the order of the policies.
 */
import { parseIpAddress } from '@opencae/protocol';
import type { LocationMatcher, NamedLocation } from './named-location.js';
import {
  ALL,
  ALL_TRUSTED,
  type ConditionalAccessPolicy,
  GUESTS,
  isLocationBlockPolicy,
  type PolicyRiskLevel,
} from './policy.js';
import { compilePolicySet, type PolicySet } from './policy-set.js';

export type EvaluationPrincipal =
  | {
      type: 'user';
      id: string;
      /** Ids of the groups the user belongs to. */
      groups: readonly string[];
      guest: boolean;
      riskLevel: PolicyRiskLevel;
    }
  | { type: 'servicePrincipal'; id: string; riskLevel: PolicyRiskLevel };

export interface EvaluationRequest {
  principal: EvaluationPrincipal;
  /** The audience of the API the token is for. */
  audience: string;
  /** The client IP the issuer sees (undefined when unknown: outside every named location). */
  issuerIp: string | undefined;
  /** The client IP the resource saw (`xms_rp_ipaddr` of a location challenge's claims). */
  resourceIp?: string | undefined;
  /** The client declared the `cp1` capability on this request. */
  cp1: boolean;
  /** The user completed MFA in this session. */
  mfaDone: boolean;
}

/** Why a policy did not apply. */
export type NotAppliedReason =
  | 'disabled'
  | 'notAssigned'
  | 'excluded'
  | 'apiNotTargeted'
  | 'userRiskNotMatched'
  | 'servicePrincipalRiskNotMatched'
  | 'clientCapabilityNotMatched'
  | 'locationNotMatched';

export type PolicyOutcome =
  | 'applied'
  | 'notApplied'
  | 'reportOnlyWouldBlock'
  | 'reportOnlyWouldRequireMfa'
  | 'reportOnlyWouldApply'
  | 'reportOnlyNotApplied';

export type AppliedControl = 'block' | 'requireMfa' | 'mfaSatisfied' | 'caeDisabled' | 'strictLocation';

export interface PolicyResult {
  policyId: string;
  policyName: string;
  state: ConditionalAccessPolicy['state'];
  outcome: PolicyOutcome;
  reason?: NotAppliedReason;
  /** The controls that took (or, report-only, would take) effect. */
  controls: AppliedControl[];
  /** This policy blocks the IP the resource saw though not the one the issuer saw. */
  ipVariation?: true;
}

export type BlockReason =
  /** An enabled policy with the block control applies. */
  | 'policy'
  /** Split tunnel / proxy: the resource's view of the client IP is blocked and the policy is strict. */
  | 'ipVariationStrict';

export interface ConditionalAccessDecision {
  access: 'allow' | 'block' | 'mfaRequired';
  blockReason?: BlockReason;
  /** Ids of the policies that block or require MFA. */
  enforcedBy: string[];
  /** CAE disabled for this principal: issue a short, non-CAE token (no `xms_cc`). */
  caeDisabled: boolean;
  /** Strict location enforcement applies to this principal and API. */
  strictLocation: boolean;
  /** `suspended`: the issuer's view of the IP is allowed but the resource's is not (one-hour token). */
  ipCheck: 'enforced' | 'suspended';
  /**
   * Enabled location-blocking policies that apply to this principal and API whatever the location:
   * the resource checks the client IP against exactly these (`xms_lp`).
   */
  locationPolicyIds: string[];
}

export interface EvaluationResult {
  policyVersion: number;
  decision: ConditionalAccessDecision;
  policies: PolicyResult[];
  /** Both views of the client IP, for the sign-in log. */
  issuerIp: string | undefined;
  resourceIp: string | undefined;
}

/** Assignments, target API, risk and capability: everything but the location. */
function scopeMismatch(
  policy: ConditionalAccessPolicy,
  request: EvaluationRequest,
): NotAppliedReason | undefined {
  const { principal } = request;
  const { users, groups, servicePrincipals } = policy.assignments;
  if (principal.type === 'user') {
    const excluded =
      users.exclude.includes(principal.id) ||
      (principal.guest && users.exclude.includes(GUESTS)) ||
      intersects(groups.exclude, principal.groups);
    const included =
      users.include.includes(ALL) ||
      users.include.includes(principal.id) ||
      (principal.guest && users.include.includes(GUESTS)) ||
      intersects(groups.include, principal.groups);
    if (!included) return 'notAssigned';
    if (excluded) return 'excluded';
  } else {
    const included =
      servicePrincipals.include.includes(ALL) || servicePrincipals.include.includes(principal.id);
    if (!included) return 'notAssigned';
    if (servicePrincipals.exclude.includes(principal.id)) return 'excluded';
  }

  const apis = policy.targetApis;
  if (!(apis.include.includes(ALL) || apis.include.includes(request.audience))) return 'apiNotTargeted';
  if (apis.exclude.includes(request.audience)) return 'apiNotTargeted';

  // A risk condition describes one kind of principal; the other kind never meets it.
  const { userRiskLevels, servicePrincipalRiskLevels, clientCapability } = policy.conditions;
  if (userRiskLevels || servicePrincipalRiskLevels) {
    if (principal.type === 'user' && !userRiskLevels?.includes(principal.riskLevel))
      return 'userRiskNotMatched';
    if (principal.type === 'servicePrincipal' && !servicePrincipalRiskLevels?.includes(principal.riskLevel)) {
      return 'servicePrincipalRiskNotMatched';
    }
  }
  if (clientCapability === 'cp1Declared' && !request.cp1) return 'clientCapabilityNotMatched';
  if (clientCapability === 'cp1NotDeclared' && request.cp1) return 'clientCapabilityNotMatched';
  return undefined;
}

/**
 * Whether a client meets a policy's location condition (no condition: every client does), given the
 * named locations containing its address (looked up once per request, not once per policy).
 */
export function locationConditionMet(
  policy: ConditionalAccessPolicy,
  locations: LocationMatcher,
  containing: readonly string[],
): boolean {
  const condition = policy.conditions.locations;
  if (!condition) return true;
  let included = false;
  for (const entry of condition.include) {
    if (entry === ALL || locationEntryMatches(entry, locations, containing)) {
      included = true;
      break;
    }
  }
  if (!included) return false;
  for (const entry of condition.exclude) if (locationEntryMatches(entry, locations, containing)) return false;
  return true;
}

// Module-level helpers, not closures: evaluation runs per policy per token request.
function locationEntryMatches(
  entry: string,
  locations: LocationMatcher,
  containing: readonly string[],
): boolean {
  if (entry !== ALL_TRUSTED) return containing.includes(entry);
  for (const id of containing) if (locations.isTrusted(id)) return true;
  return false;
}

function intersects(ids: readonly string[], memberOf: readonly string[]): boolean {
  for (const id of ids) if (memberOf.includes(id)) return true;
  return false;
}

function sameAddress(a: string | undefined, b: string | undefined): boolean {
  const left = a === undefined ? undefined : parseIpAddress(a);
  const right = b === undefined ? undefined : parseIpAddress(b);
  return !!left && !!right && left.family === right.family && left.value === right.value;
}

function policyResult(
  policy: ConditionalAccessPolicy,
  outcome: PolicyOutcome,
  controls: AppliedControl[],
  reason?: NotAppliedReason,
): PolicyResult {
  const result: PolicyResult = {
    policyId: policy.id,
    policyName: policy.name,
    state: policy.state,
    outcome,
    controls,
  };
  if (reason !== undefined) result.reason = reason;
  return result;
}

/** Evaluates a compiled policy set (the fast path the token service uses at every token request). */
export function evaluatePolicySet(set: PolicySet, request: EvaluationRequest): EvaluationResult {
  const results: PolicyResult[] = [];
  const blockers: string[] = [];
  const mfaRequirers: string[] = [];
  const variationBlockers: string[] = [];
  const locationPolicyIds: string[] = [];
  let caeDisabled = false;
  let strictLocation = false;

  // A resource IP that does not parse, or equals the issuer's, brings no second view.
  const resourceIp =
    request.resourceIp !== undefined &&
    parseIpAddress(request.resourceIp) !== undefined &&
    !sameAddress(request.issuerIp, request.resourceIp)
      ? request.resourceIp
      : undefined;

  const issuerLocations = set.locations.locationsOf(request.issuerIp);
  const resourceLocations = resourceIp === undefined ? [] : set.locations.locationsOf(resourceIp);

  for (const policy of set.policies) {
    if (policy.state === 'disabled') {
      results.push(policyResult(policy, 'notApplied', [], 'disabled'));
      continue;
    }
    const enabled = policy.state === 'enabled';
    const mismatch =
      scopeMismatch(policy, request) ??
      (locationConditionMet(policy, set.locations, issuerLocations) ? undefined : 'locationNotMatched');

    if (enabled && mismatch !== 'locationNotMatched' && mismatch !== undefined) {
      results.push(policyResult(policy, 'notApplied', [], mismatch));
      continue;
    }
    if (!enabled && mismatch !== undefined) {
      results.push(policyResult(policy, 'reportOnlyNotApplied', [], mismatch));
      continue;
    }

    // From here on the policy's scope matches (enabled or report-only).
    if (enabled) {
      if (isLocationBlockPolicy(policy)) locationPolicyIds.push(policy.id);
      if (policy.sessionControls.caeMode === 'strictLocation') strictLocation = true;
    }

    if (mismatch === 'locationNotMatched') {
      // Enabled, in scope, but the issuer's view of the IP is outside the condition. A blocking
      // location policy that the resource's view meets is an IP variation (split tunnel, proxy).
      const variation =
        policy.grantControls.block &&
        resourceIp !== undefined &&
        locationConditionMet(policy, set.locations, resourceLocations);
      if (variation) variationBlockers.push(policy.id);
      const result = policyResult(policy, 'notApplied', [], 'locationNotMatched');
      if (variation) result.ipVariation = true;
      results.push(result);
      continue;
    }

    const controls: AppliedControl[] = [];
    if (policy.grantControls.block) controls.push('block');
    if (policy.grantControls.requireMfa) controls.push(request.mfaDone ? 'mfaSatisfied' : 'requireMfa');
    if (policy.sessionControls.caeMode === 'disabled') controls.push('caeDisabled');
    if (policy.sessionControls.caeMode === 'strictLocation') controls.push('strictLocation');

    if (!enabled) {
      const outcome = controls.includes('block')
        ? 'reportOnlyWouldBlock'
        : controls.includes('requireMfa')
          ? 'reportOnlyWouldRequireMfa'
          : 'reportOnlyWouldApply';
      results.push(policyResult(policy, outcome, controls));
      continue;
    }
    if (controls.includes('block')) blockers.push(policy.id);
    if (controls.includes('requireMfa')) mfaRequirers.push(policy.id);
    if (controls.includes('caeDisabled')) caeDisabled = true;
    results.push(policyResult(policy, 'applied', controls));
  }

  const common = { caeDisabled, strictLocation, locationPolicyIds };
  let decision: ConditionalAccessDecision;
  if (blockers.length > 0) {
    decision = {
      access: 'block',
      blockReason: 'policy',
      enforcedBy: blockers,
      ipCheck: 'enforced',
      ...common,
    };
  } else if (variationBlockers.length > 0 && strictLocation) {
    decision = {
      access: 'block',
      blockReason: 'ipVariationStrict',
      enforcedBy: variationBlockers,
      ipCheck: 'enforced',
      ...common,
    };
  } else {
    const ipCheck = variationBlockers.length > 0 ? 'suspended' : 'enforced';
    decision =
      mfaRequirers.length > 0
        ? { access: 'mfaRequired', enforcedBy: mfaRequirers, ipCheck, ...common }
        : { access: 'allow', enforcedBy: [], ipCheck, ...common };
  }
  return {
    policyVersion: set.version,
    decision,
    policies: results,
    issuerIp: request.issuerIp,
    resourceIp: request.resourceIp,
  };
}

/** The pure evaluation function over plain data (compiles, then evaluates). */
export function evaluateConditionalAccess(
  policies: readonly ConditionalAccessPolicy[],
  namedLocations: readonly NamedLocation[],
  request: EvaluationRequest,
  policyVersion = 0,
): EvaluationResult {
  return evaluatePolicySet(compilePolicySet(policies, namedLocations, policyVersion), request);
}
