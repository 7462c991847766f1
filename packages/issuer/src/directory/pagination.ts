/**
 * Keyset (cursor) pagination: a page ends with an opaque cursor holding the last sort key, and the next
 * page starts strictly after it. Stable under concurrent inserts, and cheap on large tables.
 */
import { ValidationError } from './errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface PageRequest {
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  next_cursor?: string;
}

export function pageSize(request: PageRequest): number {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
  return limit;
}

export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed?.k === 'string') return parsed.k;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('cursor is not one this API returned', 'cursor');
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says there is a next page.
 */
export function toPage<Row, T>(
  rows: Row[],
  limit: number,
  keyOf: (row: Row) => string,
  view: (row: Row) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const page: Page<T> = { items: items.map(view) };
  const last = items.at(-1);
  if (rows.length > limit && last !== undefined) page.next_cursor = encodeCursor(keyOf(last));
  return page;
}
