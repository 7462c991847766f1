import { createHash, timingSafeEqual } from 'node:crypto';
import { SET_MAX_LENGTH } from '@opencae/protocol';
import { headerValues, type RequestHeaders } from '../headers.js';
import type { SetProcessor } from './set-processor.js';

export interface PushRequest {
  headers: RequestHeaders;
  /** The raw request body (the SET itself). */
  body: string | Uint8Array | undefined;
}

export interface PushResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text, or undefined for an empty body. */
  body: string | undefined;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function error(status: number, err: string, description: string): PushResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ err, description }),
  };
}

/**
 * RFC 8935 push delivery: checks the `authorization_header` value agreed at stream creation (compared
 * in constant time), then verifies and applies the SET. 202 when accepted (also for a SET already
 * received), 400 with `{err, description}` when it must not be retried, 401 without the right
 * authorization, 503 when it could not be decided now so the transmitter retries.
 */
export function createPushHandler(
  processor: SetProcessor,
  expectedAuthorization: string,
  onContact: () => void,
): (request: PushRequest) => Promise<PushResponse> {
  const expected = digest(expectedAuthorization);
  return async (request) => {
    const authorization = headerValues(request.headers, 'authorization');
    // Hashing first makes the comparison constant-time whatever the lengths.
    if (authorization.length !== 1 || !timingSafeEqual(digest(authorization[0]!), expected)) {
      return error(401, 'authentication_failed', 'the authorization header is missing or wrong');
    }
    onContact();
    const contentType = (headerValues(request.headers, 'content-type')[0] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (contentType !== 'application/secevent+jwt') {
      return error(400, 'invalid_request', 'the content type must be application/secevent+jwt');
    }
    const raw = request.body;
    if (raw === undefined || raw.length === 0) return error(400, 'invalid_request', 'the body is empty');
    if (raw.length > SET_MAX_LENGTH) return error(400, 'invalid_request', 'the SET is too large');
    const jwt = (typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')).trim();
    const result = await processor.process(jwt);
    switch (result.outcome) {
      case 'accepted':
      case 'duplicate':
        return { status: 202, headers: {}, body: undefined };
      case 'rejected':
        return error(400, result.err, result.description);
      case 'retry':
        return {
          ...error(503, 'temporarily_unavailable', 'the SET could not be processed now'),
          status: 503,
        };
    }
  };
}
