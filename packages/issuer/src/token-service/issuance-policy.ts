/**
 * Conditional Access at issuance. Every token request (authorization code, refresh, client credentials)
 * is evaluated once per API and the result kept on the request state, where the provider's hooks (the
 * lifetime, the token's claims) and the sign-in log read it. A block refuses the token, an unmet MFA
 * requirement sends a user back to an interactive sign-in, everything else shapes the token.
 */
import { type ClaimsRequest, parseClaimsRequest } from '@opencae/protocol';
import type {
  ConditionalAccessService,
  IssuanceEvaluation,
  IssuanceInput,
} from '../conditional-access/service.js';
import type { IssuerConfig } from '../config.js';
import { type CaeDecision, decideLifetime } from './cae-rules.js';
import { isJsonObject } from './json-object.js';
import type { RequestState } from './request-state.js';
import { audiencesOf } from './scopes.js';

/**
 * The claims that rule a token request: those remembered from the authorization (or the code / refresh
 * token) with the request's own `access_token` members over them, so a challenge answered on a refresh
 * (`xms_rp_ipaddr`, `nbf`) keeps the capability the client declared when it signed in.
 */
export function mergeClaimsRequests(
  remembered: ClaimsRequest | undefined,
  requested: ClaimsRequest | undefined,
): ClaimsRequest | undefined {
  if (!remembered) return requested;
  if (!requested) return remembered;
  const before = isJsonObject(remembered.access_token) ? remembered.access_token : {};
  const now = isJsonObject(requested.access_token) ? requested.access_token : {};
  return { ...remembered, ...requested, access_token: { ...before, ...now } };
}

/** Evaluates the request for one API at most once; every later call gets the same evaluation. */
export function evaluateOnce(
  service: ConditionalAccessService,
  state: RequestState,
  input: IssuanceInput,
): Promise<IssuanceEvaluation> {
  let evaluation = state.conditionalAccess.get(input.audience);
  if (!evaluation) {
    evaluation = service.evaluateIssuance(input);
    state.conditionalAccess.set(input.audience, evaluation);
  }
  return evaluation;
}

export type IssuanceRefusal =
  /** A policy blocks: no token for this request. */
  | { kind: 'blocked'; description: string }
  /** A policy requires MFA the sign-in did not include: only an interactive sign-in can satisfy it. */
  | { kind: 'mfaRequired'; description: string };

function named(evaluation: IssuanceEvaluation): string {
  const { decision, policies } = evaluation.result;
  const names = decision.enforcedBy.map((id) => {
    const policy = policies.find((result) => result.policyId === id);
    return policy ? `"${policy.policyName}" (${id})` : id;
  });
  return `${names.length === 1 ? 'policy' : 'policies'} ${names.join(', ')}`;
}

/** Why the evaluation refuses the token, or undefined when it may be issued. */
export function issuanceRefusal(evaluation: IssuanceEvaluation): IssuanceRefusal | undefined {
  const { decision, resourceIp } = evaluation.result;
  if (decision.access === 'block') {
    const description =
      decision.blockReason === 'ipVariationStrict'
        ? `access blocked by Conditional Access ${named(evaluation)}: the API saw the client at ${resourceIp}, outside the allowed locations, and strict location enforcement applies`
        : `access blocked by Conditional Access ${named(evaluation)}`;
    return { kind: 'blocked', description };
  }
  if (decision.access === 'mfaRequired') {
    return {
      kind: 'mfaRequired',
      description: `Conditional Access ${named(evaluation)} requires multi-factor authentication; sign in again interactively`,
    };
  }
  return undefined;
}

/**
 * The CAE decision for a token Conditional Access allows: CAE only when the client declared cp1, the
 * API is CAE-enabled and no policy disabled CAE for the principal; a fixed lifetime (the split-tunnel
 * hour) replaces the random one.
 */
export function shapeToken(
  lifetimes: IssuerConfig['lifetimes'],
  clientIsCaeCapable: boolean,
  apiIsCaeEnabled: boolean,
  evaluation: IssuanceEvaluation,
): CaeDecision {
  const decision = decideLifetime(
    lifetimes,
    clientIsCaeCapable && evaluation.token.caeAllowed,
    apiIsCaeEnabled,
  );
  const fixed = evaluation.token.fixedLifetimeSeconds;
  return fixed === undefined ? decision : { ...decision, lifetimeSeconds: fixed };
}

/** What Conditional Access asks of an interactive sign-in, before any code is issued. */
export interface SignInRequirement {
  /** A policy blocks the user from one of the requested APIs: why, and the evaluation that says so. */
  blocked?: { description: string; evaluation: IssuanceEvaluation };
  /** A policy requires MFA for one of the requested APIs. */
  mfaRequired: boolean;
}

/**
 * Evaluates a user's sign-in for each API it asks for, as if no second factor was used yet: the
 * sign-in page then asks for (or enrolls) one when a policy requires it, and refuses a blocked user.
 */
export async function signInRequirement(
  service: ConditionalAccessService,
  input: Omit<IssuanceInput, 'audience' | 'mfaDone'> & { audiences: readonly string[] },
): Promise<SignInRequirement> {
  const { audiences, ...common } = input;
  const evaluations = await Promise.all(
    audiences.map((audience) => service.evaluateIssuance({ ...common, audience, mfaDone: false })),
  );
  let mfaRequired = false;
  for (const evaluation of evaluations) {
    const refusal = issuanceRefusal(evaluation);
    if (refusal?.kind === 'blocked')
      return { blocked: { description: refusal.description, evaluation }, mfaRequired };
    if (refusal?.kind === 'mfaRequired') mfaRequired = true;
  }
  return { mfaRequired };
}

/** The APIs an authorization request asks for: its `resource` values and the APIs its `scope` names. */
export function requestedAudiences(params: { scope?: unknown; resource?: unknown }): string[] {
  const audiences = audiencesOf(typeof params.scope === 'string' ? params.scope : undefined);
  const resources = Array.isArray(params.resource) ? params.resource : [params.resource];
  for (const resource of resources)
    if (typeof resource === 'string' && !audiences.includes(resource)) audiences.push(resource);
  return audiences;
}

/** The `claims` parameter of an authorization request (already validated by the provider), if any. */
export function authorizationClaims(value: unknown): ClaimsRequest | undefined {
  try {
    return parseClaimsRequest(typeof value === 'string' ? value : undefined);
  } catch {
    return undefined;
  }
}
