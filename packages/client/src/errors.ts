/**
 * Errors the client SDK throws. Callers switch on `code` (stable), never on the message.
 */

import type { ClaimsChallenge } from '@opencae/protocol';
import { OpenCaeError } from '@opencae/protocol';

/** The options given to the client (or to one call) cannot work. */
export class ClientConfigError extends OpenCaeError {
  declare readonly code: 'ERR_CLIENT_CONFIG' | 'ERR_GRANT_UNSUPPORTED';

  constructor(code: 'ERR_CLIENT_CONFIG' | 'ERR_GRANT_UNSUPPORTED', message: string) {
    super(code, message);
  }
}

/** The issuer's metadata could not be fetched or is not acceptable. */
export class DiscoveryError extends OpenCaeError {
  declare readonly code: 'ERR_DISCOVERY_FAILED';

  constructor(message: string, options?: ErrorOptions) {
    super('ERR_DISCOVERY_FAILED', message, options);
  }
}

/** The issuer could not be reached or answered with a server error (retryable). */
export class IssuerUnavailableError extends OpenCaeError {
  declare readonly code: 'ERR_ISSUER_UNAVAILABLE';
  /** HTTP status when the issuer answered, undefined on a network failure. */
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super('ERR_ISSUER_UNAVAILABLE', message, options);
    this.status = status;
  }
}

/** The issuer refused a token request with an OAuth error response (RFC 6749 §5.2). */
export class TokenRequestError extends OpenCaeError {
  declare readonly code: 'ERR_TOKEN_REQUEST_REJECTED';
  /** The OAuth `error` code, e.g. `invalid_client`, `invalid_grant`, `interaction_required`. */
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly errorUri: string | undefined;
  readonly status: number;

  constructor(
    o: { error: string; errorDescription?: string; errorUri?: string; status: number },
    options?: ErrorOptions,
  ) {
    super(
      'ERR_TOKEN_REQUEST_REJECTED',
      `the issuer refused the token request: ${o.error}${o.errorDescription ? ` (${o.errorDescription})` : ''}`,
      options,
    );
    this.error = o.error;
    this.errorDescription = o.errorDescription;
    this.errorUri = o.errorUri;
    this.status = o.status;
  }
}

export type TokenResponseErrorCode = 'ERR_TOKEN_RESPONSE_INVALID' | 'ERR_TOKEN_RESPONSE_TOO_LARGE';

/** The issuer answered "success" with something that is not a usable Bearer token response. */
export class TokenResponseError extends OpenCaeError {
  declare readonly code: TokenResponseErrorCode;

  constructor(code: TokenResponseErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The signed-in user's session is needed (flow 'user') but there is none, or it was revoked. */
export class NotSignedInError extends OpenCaeError {
  declare readonly code: 'ERR_NOT_SIGNED_IN';

  constructor(message: string, options?: ErrorOptions) {
    super('ERR_NOT_SIGNED_IN', message, options);
  }
}

/** The authorization response at the redirect URI carries an error or fails validation. */
export class AuthorizationFailedError extends OpenCaeError {
  declare readonly code: 'ERR_AUTHORIZATION_FAILED';
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;

  constructor(
    message: string,
    o: { error?: string; errorDescription?: string } = {},
    options?: ErrorOptions,
  ) {
    super('ERR_AUTHORIZATION_FAILED', message, options);
    this.error = o.error;
    this.errorDescription = o.errorDescription;
  }
}

/**
 * A streamed request body is larger than the replay buffer, so it could not be re-sent after a claims
 * challenge. Send a replayable body (string, bytes, Blob, FormData, URLSearchParams) or raise
 * `maxReplayBodyBytes`.
 */
export class RequestBodyTooLargeError extends OpenCaeError {
  declare readonly code: 'ERR_BODY_TOO_LARGE_TO_REPLAY';
  readonly limit: number;

  constructor(limit: number) {
    super(
      'ERR_BODY_TOO_LARGE_TO_REPLAY',
      `the streamed request body exceeds maxReplayBodyBytes (${limit} bytes); a stream can be sent only once, ` +
        'and answering a claims challenge needs to send the request again: pass a string, bytes, Blob, FormData ' +
        'or URLSearchParams body, or raise maxReplayBodyBytes',
    );
    this.limit = limit;
  }
}

/**
 * The API sent a claims challenge, the client asked the issuer for a token satisfying it, and the issuer
 * refused (account disabled, secret reset, policy not satisfied…). Nothing is retried further.
 */
export class ClaimsChallengeRefusedError extends OpenCaeError {
  declare readonly code: 'ERR_CHALLENGE_REFUSED';
  /** The issuer's OAuth `error` code. */
  readonly error: string;
  readonly errorDescription: string | undefined;
  /** The API's claims challenge that was being answered. */
  readonly challenge: ClaimsChallenge;
  /** The API's 401 response (body unread). */
  readonly response: Response;

  constructor(refusal: TokenRequestError, challenge: ClaimsChallenge, response: Response) {
    super(
      'ERR_CHALLENGE_REFUSED',
      `the issuer refused to answer the API's claims challenge: ${refusal.error}` +
        (refusal.errorDescription ? ` (${refusal.errorDescription})` : ''),
      { cause: refusal },
    );
    this.error = refusal.error;
    this.errorDescription = refusal.errorDescription;
    this.challenge = challenge;
    this.response = response;
  }
}
