/** Errors of the token service with stable codes; the provider glue maps them to OAuth errors. */
import { OpenCaeError } from '@opencae/protocol';

export type TokenServiceErrorCode =
  | 'ERR_CLAIMS_UNSATISFIABLE'
  | 'ERR_SUBJECT_NOT_ALLOWED'
  | 'ERR_CLIENT_NOT_ALLOWED'
  | 'ERR_SCOPE_NOT_GRANTED'
  | 'ERR_UNKNOWN_RESOURCE';

export class TokenServiceError extends OpenCaeError {
  declare readonly code: TokenServiceErrorCode;

  constructor(
    code: TokenServiceErrorCode,
    /** Said to the client as `error_description`: why, without secrets. */
    message: string,
  ) {
    super(code, message);
  }
}
