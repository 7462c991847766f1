/**
 * Stable, machine-readable reasons a request is refused. They appear as `reason` in the JSON body of
 * every rejection; callers and dashboards switch on them, so they never change meaning.
 */
export const REJECTION_REASONS = {
  missing_token: { status: 401, error: undefined, summary: 'No bearer token in the Authorization header.' },
  invalid_request: {
    status: 400,
    error: 'invalid_request',
    summary: 'The Authorization header is malformed.',
  },
  token_too_large: { status: 401, error: 'invalid_token', summary: 'The token exceeds maxTokenLength.' },
  token_malformed: {
    status: 401,
    error: 'invalid_token',
    summary: 'The token is not a well-formed JWS JWT.',
  },
  algorithm_not_allowed: {
    status: 401,
    error: 'invalid_token',
    summary: 'The token is signed with an algorithm outside the allow-list (none and HS* are never allowed).',
  },
  invalid_type: { status: 401, error: 'invalid_token', summary: 'The token `typ` header is not at+jwt.' },
  unknown_key: {
    status: 401,
    error: 'invalid_token',
    summary: "No key in the issuer's JWKS matches the token.",
  },
  invalid_signature: { status: 401, error: 'invalid_token', summary: 'The signature does not verify.' },
  invalid_issuer: {
    status: 401,
    error: 'invalid_token',
    summary: 'The `iss` claim is not the configured issuer.',
  },
  invalid_audience: {
    status: 401,
    error: 'invalid_token',
    summary: 'The `aud` claim does not name this API.',
  },
  token_expired: { status: 401, error: 'invalid_token', summary: 'The token has expired (`exp`).' },
  token_not_yet_valid: {
    status: 401,
    error: 'invalid_token',
    summary: 'The token is not valid yet (`nbf`).',
  },
  missing_claim: {
    status: 401,
    error: 'invalid_token',
    summary: 'A required claim is missing or has a bad value.',
  },
  token_lifetime_exceeded: {
    status: 401,
    error: 'invalid_token',
    summary: 'The token lives longer than maxTokenLifetime, so revocation state could not cover it.',
  },
  token_revoked: {
    status: 401,
    error: 'invalid_token',
    summary:
      'Tokens issued before a revocation of this user or application (sessions revoked, credential change, high risk).',
  },
  session_revoked: {
    status: 401,
    error: 'invalid_token',
    summary: "The token's session (`sid`) was revoked.",
  },
  account_disabled: {
    status: 401,
    error: 'invalid_token',
    summary: 'The user or service principal is disabled or deleted.',
  },
  location_blocked: {
    status: 401,
    error: 'invalid_token',
    summary: 'The client IP is not allowed by the location policy that applies to the token.',
  },
  policy_changed: {
    status: 401,
    error: 'invalid_token',
    summary:
      "The token was evaluated under an older version of this API's Conditional Access policies (`xms_pv`); a CAE-capable client gets a challenge and fetches a token evaluated under current policy.",
  },
  location_policy_unavailable: {
    status: 503,
    error: undefined,
    summary:
      'Location policies are enforced but not loaded yet (first sync pending or failing): not knowing them must not allow. The request can be retried.',
  },
  insufficient_scope: {
    status: 403,
    error: 'insufficient_scope',
    summary: 'The token lacks a required scope or role, or a custom claim check failed.',
  },
  key_source_unavailable: {
    status: 503,
    error: undefined,
    summary: 'Issuer metadata or JWKS could not be fetched; the request can be retried.',
  },
} as const satisfies Record<string, { status: number; error: string | undefined; summary: string }>;

export type RejectionReason = keyof typeof REJECTION_REASONS;

/** Why a token or request failed a check, before it is turned into an HTTP response. */
export interface CheckFailure {
  reason: RejectionReason;
  description: string;
}
