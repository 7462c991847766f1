/**
 * Error classes with stable string codes. Callers switch on `code`, never on the message.
 */

/** Base class of every error OpenCAE code throws for a caller to handle. */
export class OpenCaeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type ClaimsRequestErrorCode = 'ERR_CLAIMS_MALFORMED' | 'ERR_CLAIMS_TOO_LARGE';

/** The `claims` request parameter (or a claims value) is not acceptable. */
export class ClaimsRequestError extends OpenCaeError {
  declare readonly code: ClaimsRequestErrorCode;

  constructor(code: ClaimsRequestErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A `WWW-Authenticate` value cannot be built from the given input (e.g. a control character). */
export class ChallengeBuildError extends OpenCaeError {
  declare readonly code: 'ERR_CHALLENGE_INVALID';

  constructor(message: string) {
    super('ERR_CHALLENGE_INVALID', message);
  }
}

/** A known security event type carries a body that does not match its schema. */
export class EventValidationError extends OpenCaeError {
  declare readonly code: 'ERR_EVENT_INVALID';
  readonly eventType: string;

  constructor(eventType: string, message: string, options?: ErrorOptions) {
    super('ERR_EVENT_INVALID', message, options);
    this.eventType = eventType;
  }
}

export type SetBuildErrorCode = 'ERR_SET_INVALID' | 'ERR_SET_KEY_UNSUITABLE';

/** A SET cannot be built or signed (bad payload, weak or wrong key). */
export class SetBuildError extends OpenCaeError {
  declare readonly code: SetBuildErrorCode;

  constructor(code: SetBuildErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** RFC 8935 §2.4 / IANA "Security Event Token Error Codes" that a receiver reports. */
export type SetErrorCode = 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'invalid_request';

/** A received SET failed verification; `code` is the RFC 8935 error code to report back. */
export class SetVerificationError extends OpenCaeError {
  declare readonly code: SetErrorCode;
  /** Human-readable reason, suitable for the `description` member of an RFC 8935 error body. */
  readonly description: string;

  constructor(code: SetErrorCode, description: string, options?: ErrorOptions) {
    super(code, description, options);
    this.description = description;
  }
}
