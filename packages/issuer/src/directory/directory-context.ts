import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../storage/database.js';
import { ValidationError } from './errors.js';

/**
 * What a directory change needs besides its input: where to write (a Db or a caller's transaction), the
 * issuer URL (`iss` of event subjects) and who acts (recorded in the audit log).
 */
export interface DirectoryContext {
  db: Db;
  issuer: string;
  /** The admin principal: the client_id of an app token, the `sub` of a user token, or "system". */
  actor: string;
  /** Encrypts secrets the change stores (a TOTP secret); without it they are stored as given. */
  secrets?: SecretBox;
  /** The time of the change (tests pin it). */
  now?: () => Date;
}

export function timeOf(context: DirectoryContext): Date {
  return context.now?.() ?? new Date();
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Rejects what PostgreSQL text cannot store verbatim (NUL, unpaired surrogates) instead of failing later. */
export function assertStorable(value: string, field: string, maxLength: number): void {
  if (value.length > maxLength)
    throw new ValidationError(`${field} must be at most ${maxLength} characters`, field);
  if (value.includes('\u0000') || UNPAIRED_SURROGATE.test(value))
    throw new ValidationError(`${field} must not contain NUL characters or unpaired surrogates`, field);
}

/** True when the text holds a C0 control character or DEL (never legitimate in names). */
export function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
