/**
 * Maps what oauth4webapi (or the transport) throws during a token request to the SDK's typed errors.
 */
import { OpenCaeError } from '@opencae/protocol';
import * as oauth from 'oauth4webapi';
import { IssuerUnavailableError, TokenRequestError, TokenResponseError } from './errors.js';

export async function toIssuerError(error: unknown): Promise<unknown> {
  if (error instanceof OpenCaeError) return error;
  if (error instanceof DOMException && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return error;
  if (error instanceof oauth.ResponseBodyError) {
    return new TokenRequestError(
      {
        error: error.error,
        status: error.status,
        ...(error.error_description !== undefined && { errorDescription: error.error_description }),
        ...(typeof error.cause.error_uri === 'string' && { errorUri: error.cause.error_uri }),
      },
      { cause: error },
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // e.g. 401 + `WWW-Authenticate: Basic` for a bad client secret; the JSON body usually says more.
    const body = await readOAuthErrorBody(error.response);
    const challengeError = error.cause.find((c) => typeof c.parameters.error === 'string')?.parameters.error;
    return new TokenRequestError(
      {
        error: body?.error ?? challengeError ?? (error.status === 401 ? 'invalid_client' : 'invalid_request'),
        status: error.status,
        ...(body?.error_description !== undefined && { errorDescription: body.error_description }),
      },
      { cause: error },
    );
  }
  if (error instanceof oauth.OperationProcessingError) {
    const response = error.cause instanceof Response ? error.cause : undefined;
    // An error status without an OAuth error body (an HTML error page, an empty 503…).
    if (response && !response.ok) {
      if (response.status >= 500 || response.status === 429) {
        return new IssuerUnavailableError(`the issuer answered HTTP ${response.status}`, response.status, {
          cause: error,
        });
      }
      return new TokenResponseError(
        'ERR_TOKEN_RESPONSE_INVALID',
        `the issuer answered HTTP ${response.status} without an OAuth error body`,
        { cause: error },
      );
    }
    return new TokenResponseError('ERR_TOKEN_RESPONSE_INVALID', `invalid token response: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new TokenResponseError('ERR_TOKEN_RESPONSE_INVALID', `invalid token response: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof TypeError && (error as { code?: unknown }).code === undefined) {
    // fetch() rejects with a plain TypeError on network failures (connection refused, DNS, TLS);
    // oauth4webapi's argument errors are TypeErrors too, but carry a code.
    return new IssuerUnavailableError(`the issuer could not be reached: ${error.message}`, undefined, {
      cause: error,
    });
  }
  return error;
}

async function readOAuthErrorBody(
  response: Response,
): Promise<{ error: string; error_description?: string } | undefined> {
  try {
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null) return undefined;
    const { error, error_description } = body as Record<string, unknown>;
    if (typeof error !== 'string' || !error) return undefined;
    return typeof error_description === 'string' ? { error, error_description } : { error };
  } catch {
    return undefined;
  }
}
