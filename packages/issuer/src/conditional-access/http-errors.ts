/** Maps Conditional Access errors to JSON error responses; anything else is left to Fastify (500). */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConditionalAccessError } from './errors.js';

const ERROR_NAMES: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function conditionalAccessErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof ConditionalAccessError) {
    return reply.code(error.status).send({
      error: ERROR_NAMES[error.status] ?? 'error',
      code: error.code,
      error_description: error.message,
      ...(error.details.length > 0 ? { details: error.details } : {}),
    });
  }
  // Fastify's own client errors (malformed JSON, body too large, wrong content type).
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500;
  if (status < 500) {
    return reply
      .code(status)
      .send({ error: ERROR_NAMES[status] ?? 'invalid_request', error_description: error.message });
  }
  request.log.error({ err: error }, 'conditional access request failed');
  return reply.code(500).send({ error: 'server_error', error_description: 'internal error' });
}
