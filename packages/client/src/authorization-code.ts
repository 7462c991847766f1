/**
 * Authorization code + PKCE (S256) for apps that sign users in: the authorize URL (carrying the
 * capability in `claims`, as MSAL sends it) and validation of what comes back to the redirect URI.
 */
import * as oauth from 'oauth4webapi';
import { AuthorizationFailedError } from './errors.js';
import { claimsParameter, type TokenRequest } from './token-endpoint.js';

export interface AuthorizationRequest {
  /** Open this URL in the user's browser. */
  url: URL;
  /** Keep these three (server-side session, never in the URL) until the redirect comes back. */
  codeVerifier: string;
  state: string;
  nonce: string | undefined;
}

export interface AuthorizationUrlOptions {
  redirectUri: string;
  prompt?: string;
  loginHint?: string;
  /** Further authorization request parameters (e.g. `domain_hint`). They cannot replace the ones above. */
  extraParameters?: Record<string, string>;
}

export async function buildAuthorizationRequest(
  as: oauth.AuthorizationServer,
  clientId: string,
  request: TokenRequest,
  o: AuthorizationUrlOptions,
): Promise<AuthorizationRequest> {
  if (!as.authorization_endpoint) {
    throw new AuthorizationFailedError("the issuer's metadata has no authorization_endpoint");
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = request.scopes.includes('openid') ? oauth.generateRandomNonce() : undefined;
  const url = new URL(as.authorization_endpoint);
  for (const [name, value] of Object.entries(o.extraParameters ?? {})) url.searchParams.set(name, value);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', o.redirectUri);
  url.searchParams.set('scope', request.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (nonce) url.searchParams.set('nonce', nonce);
  if (o.prompt) url.searchParams.set('prompt', o.prompt);
  if (o.loginHint) url.searchParams.set('login_hint', o.loginHint);
  url.searchParams.delete('resource');
  for (const resource of request.resources) url.searchParams.append('resource', resource);
  const claims = claimsParameter(request.claims, request.capabilities);
  if (claims !== undefined) url.searchParams.set('claims', claims);
  return { url, codeVerifier, state, nonce };
}

/** The `code` parameters of a redirect, after checking `state` (and `iss` when the issuer sends it). */
export function validateCallback(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  callback: string | URL | URLSearchParams,
  expectedState: string,
): URLSearchParams {
  const parameters =
    callback instanceof URLSearchParams
      ? callback
      : new URL(callback, 'http://callback.invalid').searchParams;
  try {
    return oauth.validateAuthResponse(as, client, parameters, expectedState);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new AuthorizationFailedError(
        `the authorization failed: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`,
        {
          error: error.error,
          ...(error.error_description !== undefined && { errorDescription: error.error_description }),
        },
        { cause: error },
      );
    }
    throw new AuthorizationFailedError(
      `the authorization response is not valid: ${error instanceof Error ? error.message : String(error)}`,
      {},
      { cause: error },
    );
  }
}
