/** Errors of the stream management API: each carries its HTTP status and a stable `code`. */
import { OpenCaeError } from '@opencae/protocol';

export type SsfErrorCode =
  | 'invalid_request'
  | 'stream_not_found'
  | 'subject_not_found'
  | 'delivery_method_unsupported'
  | 'push_url_refused'
  | 'stream_disabled'
  | 'too_many_requests'
  | 'forbidden';

const STATUS: Record<SsfErrorCode, number> = {
  invalid_request: 400,
  delivery_method_unsupported: 400,
  push_url_refused: 400,
  forbidden: 403,
  stream_not_found: 404,
  subject_not_found: 404,
  stream_disabled: 409,
  too_many_requests: 429,
};

export class SsfError extends OpenCaeError {
  declare readonly code: SsfErrorCode;
  readonly status: number;
  /** Seconds to wait, for 429 answers (Retry-After). */
  readonly retryAfterSeconds?: number;

  constructor(code: SsfErrorCode, message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(code, message, options);
    this.status = STATUS[code];
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A receiver asks for a stream that does not exist or is not its own: same answer, nothing revealed. */
export function streamNotFound(): SsfError {
  return new SsfError('stream_not_found', 'there is no stream with this stream_id for this receiver');
}
