import { headerValues, type RequestHeaders } from './headers.js';
import type { CheckFailure } from './reasons.js';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export type BearerResult = { token: string } | { token?: undefined; failure: CheckFailure };

/**
 * Extracts the bearer token from the Authorization header (RFC 6750 §2.1; query and body tokens are
 * deliberately not accepted: they leak into logs). No header, or another scheme, is "missing";
 * a Bearer header with bad syntax, or several Authorization headers, is a malformed request.
 */
export function extractBearerToken(headers: RequestHeaders, maxTokenLength: number): BearerResult {
  const values = headerValues(headers, 'authorization');
  if (values.length > 1) {
    return { failure: { reason: 'invalid_request', description: 'more than one Authorization header' } };
  }
  const header = values[0];
  if (header === undefined || header.trim() === '') {
    return { failure: { reason: 'missing_token', description: 'no bearer token' } };
  }
  // Check the size before running the regular expression, so a huge header costs nothing.
  if (header.length > maxTokenLength + 16) {
    return {
      failure: {
        reason: 'token_too_large',
        description: `the token is longer than ${maxTokenLength} characters`,
      },
    };
  }
  const scheme = header.trimStart().split(/\s/, 1)[0] ?? '';
  if (scheme.toLowerCase() !== 'bearer') {
    return {
      failure: {
        reason: 'missing_token',
        description: 'the Authorization header does not use the Bearer scheme',
      },
    };
  }
  const match = BEARER.exec(header.trim());
  if (!match) {
    return {
      failure: { reason: 'invalid_request', description: 'the Bearer credentials are not a valid b64token' },
    };
  }
  const token = match[1]!;
  if (token.length > maxTokenLength) {
    return {
      failure: {
        reason: 'token_too_large',
        description: `the token is longer than ${maxTokenLength} characters`,
      },
    };
  }
  return { token };
}
