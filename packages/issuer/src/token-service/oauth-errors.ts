/**
 * oidc-provider error instances carrying our own `error_description`, so a refusal tells the client
 * why (a disabled user, a revoked secret...) instead of the provider's generic text.
 */
import { errors } from 'oidc-provider';
import { TokenServiceError } from './errors.js';

type ProviderError = InstanceType<typeof errors.OIDCProviderError>;

function describe<T extends ProviderError>(error: T, description: string): T {
  Object.assign(error, { error_description: description });
  return error;
}

export function invalidGrant(description: string): ProviderError {
  return describe(new errors.InvalidGrant(), description);
}

/** 401 invalid_client (RFC 6749 §5.2). */
export function invalidClient(description: string): ProviderError {
  return describe(new errors.InvalidClientAuth(), description);
}

export function invalidRequest(description: string): ProviderError {
  return new errors.InvalidRequest(description);
}

export function invalidScope(description: string, scope?: string): ProviderError {
  return new errors.InvalidScope(description, scope ?? '');
}

/** 400 interaction_required: only an interactive sign-in (e.g. with MFA) can satisfy the request. */
export function interactionRequired(description: string): ProviderError {
  return new errors.InteractionRequired(description);
}

export function invalidTarget(description: string): ProviderError {
  return new errors.InvalidTarget(description);
}

/** Maps a token service error to the OAuth error a client expects. */
export function toOAuthError(error: TokenServiceError): ProviderError {
  switch (error.code) {
    case 'ERR_CLIENT_NOT_ALLOWED':
      return invalidClient(error.message);
    case 'ERR_SUBJECT_NOT_ALLOWED':
      return invalidGrant(error.message);
    case 'ERR_SCOPE_NOT_GRANTED':
      return invalidScope(error.message);
    case 'ERR_UNKNOWN_RESOURCE':
      return invalidTarget(error.message);
    case 'ERR_CLAIMS_UNSATISFIABLE':
      return invalidRequest(error.message);
  }
}

/** Runs `fn`, turning a TokenServiceError into the matching OAuth error. */
export async function asOAuth<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TokenServiceError) throw toOAuthError(error);
    throw error;
  }
}
