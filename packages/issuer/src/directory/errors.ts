/**
 * Errors of the directory services. Each has a stable `code`; the admin API maps them to HTTP
 * statuses (404, 409, 400) without looking at messages.
 */
import { OpenCaeError } from '@opencae/protocol';

/** The referenced user, application, API... does not exist (or was deleted). */
export class NotFoundError extends OpenCaeError {
  declare readonly code: 'ERR_NOT_FOUND';

  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

/** The change clashes with existing state: a taken username or audience, a built-in object... */
export class ConflictError extends OpenCaeError {
  declare readonly code: 'ERR_CONFLICT';

  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}

/** The input is well-formed but not acceptable (unknown scope, weak key, relative audience...). */
export class ValidationError extends OpenCaeError {
  declare readonly code: 'ERR_VALIDATION';
  /** Which input field is wrong, when one is. */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super('ERR_VALIDATION', message);
    this.field = field;
  }
}

/** PostgreSQL unique_violation (SQLSTATE 23505), raised by both engines. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}
