/**
 * Maps every error of the admin routes to a clear JSON answer with the right status. Nothing internal
 * (stack, SQL, driver message) reaches the client; unexpected errors are logged and answered 500.
 */
import { OpenCaeError } from '@opencae/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

const DIRECTORY_STATUS: Record<string, [number, string]> = {
  ERR_NOT_FOUND: [404, 'not_found'],
  ERR_CONFLICT: [409, 'conflict'],
  ERR_VALIDATION: [400, 'invalid_request'],
  // A rotation too soon after the next key was published (safe time in the message; `force` overrides).
  ERR_SIGNING_KEY_NEXT_TOO_RECENT: [409, 'conflict'],
};

export interface ErrorBody {
  error: string;
  error_description: string;
  field?: string;
  issues?: { path: string; message: string }[];
}

export function describeError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({
      path: issue.path.join('.') || '(body)',
      message: issue.message,
    }));
    return {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
        issues,
      },
    };
  }
  if (error instanceof OpenCaeError && DIRECTORY_STATUS[error.code]) {
    const [status, code] = DIRECTORY_STATUS[error.code]!;
    const field = (error as { field?: string }).field;
    return { status, body: { error: code, error_description: error.message, ...(field ? { field } : {}) } };
  }
  const fastifyError = error as Partial<FastifyError> & { code?: string };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: { error: 'payload_too_large', error_description: 'the request body is too large' },
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'the request body is not valid JSON' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: {
          error: 'unsupported_media_type',
          error_description: 'send the request body as application/json',
        },
      };
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400)
    return {
      status: 400,
      body: { error: 'invalid_request', error_description: 'the request body is not valid JSON' },
    };
  // PostgreSQL: a value the column cannot hold (defense in depth; the schemas reject these first).
  if (['22021', '22P05', '22001', '22P02', '22007', '22008'].includes(fastifyError.code ?? ''))
    return { status: 400, body: { error: 'invalid_request', error_description: 'a value cannot be stored' } };
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500)
    return {
      status,
      body: { error: 'invalid_request', error_description: fastifyError.message ?? 'bad request' },
    };
  return { status: 500, body: { error: 'server_error', error_description: 'an internal error occurred' } };
}

export function adminErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = describeError(error);
  if (status >= 500) request.log.error({ err: error }, 'admin API request failed');
  return reply.code(status).type('application/json').send(body);
}
