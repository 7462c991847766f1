import { OpenCaeError } from '@opencae/protocol';

export type ConditionalAccessErrorCode =
  | 'ERR_CA_INVALID'
  | 'ERR_CA_NOT_FOUND'
  | 'ERR_CA_CONFLICT'
  | 'ERR_CA_PRECONDITION_FAILED';

/** A Conditional Access request or definition is refused; `status` is the HTTP status it maps to. */
export class ConditionalAccessError extends OpenCaeError {
  declare readonly code: ConditionalAccessErrorCode;
  readonly status: number;
  /** Field-level problems (path → message), for validation errors. */
  readonly details: { path: string; message: string }[];

  constructor(
    code: ConditionalAccessErrorCode,
    message: string,
    details: { path: string; message: string }[] = [],
  ) {
    super(code, message);
    this.status = STATUS[code];
    this.details = details;
  }
}

const STATUS: Record<ConditionalAccessErrorCode, number> = {
  ERR_CA_INVALID: 400,
  ERR_CA_NOT_FOUND: 404,
  ERR_CA_CONFLICT: 409,
  ERR_CA_PRECONDITION_FAILED: 412,
};
