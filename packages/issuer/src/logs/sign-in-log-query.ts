/**
 * Reading the sign-in log: filters (time range, principal, app, API, CAE yes/no, result, correlation id)
 * and keyset pagination on (time, id), newest first. Each filter has an index led by its column and
 * ending with (time desc, id desc) (migration 006_logs), so a page costs the rows it returns. CAE and
 * result are indexed for their minority value only (not CAE, failure: migration 010); their majority
 * value is read from the time index, which then reads little more than the page. A correlation id
 * names one request, so its index (migration 011) is on the id alone: the sort is of a row or two
 * (entries written before 011 carry per-process request ids, `req-1`…, that repeat).
 */
import { type Selectable, sql } from 'kysely';
import { NotFoundError, ValidationError } from '../directory/errors.js';
import type { Page } from '../directory/pagination.js';
import type { Db } from '../storage/database.js';
import type { SignInLogTable, SignInPrincipalType, SignInResult } from '../storage/schema.js';

export const DEFAULT_SIGN_IN_PAGE = 50;
export const MAX_SIGN_IN_PAGE = 200;

export interface SignInQuery {
  /** Inclusive lower bound of `time`. */
  from?: Date | undefined;
  /** Exclusive upper bound of `time`. */
  to?: Date | undefined;
  /** A principal's object id (uuid) or its name (username, application name). */
  principal?: string | undefined;
  /** The client_id of the application. */
  app?: string | undefined;
  /** The API audience. */
  api?: string | undefined;
  /** The request's correlation id (its `x-request-id`): the sign-in of that request. */
  correlationId?: string | undefined;
  /** Only CAE tokens (true) or only non-CAE requests (false). */
  cae?: boolean | undefined;
  result?: SignInResult | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface SignIn {
  id: string;
  time: string;
  principal: { type: SignInPrincipalType; id: string | null; name: string | null } | null;
  app: { client_id: string; name: string | null } | null;
  api_audience: string | null;
  grant_type: string | null;
  issuer_ip: string | null;
  resource_ip: string | null;
  client_capabilities: string[];
  cae_token: boolean;
  lifetime_seconds: number | null;
  conditional_access: Record<string, unknown>[];
  result: SignInResult;
  error_code: string | null;
  failure_reason: string | null;
  correlation_id: string | null;
}

type Row = Selectable<SignInLogTable>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID = /^[1-9]\d{0,18}$/;

export function toSignIn(row: Row): SignIn {
  return {
    id: String(row.id),
    time: row.time.toISOString(),
    principal: row.principal_type
      ? { type: row.principal_type, id: row.principal_id, name: row.principal_name }
      : null,
    app: row.client_id ? { client_id: row.client_id, name: row.app_name } : null,
    api_audience: row.api_audience,
    grant_type: row.grant_type,
    issuer_ip: row.issuer_ip,
    resource_ip: row.resource_ip,
    client_capabilities: row.client_capabilities,
    cae_token: row.cae_token,
    lifetime_seconds: row.lifetime_seconds,
    conditional_access: row.conditional_access,
    result: row.result,
    error_code: row.error_code,
    failure_reason: row.failure_reason,
    correlation_id: row.correlation_id,
  };
}

/** The cursor names the last row of a page: its time (ms precision, as written) and id. */
export function encodeSignInCursor(time: Date, id: string): string {
  return Buffer.from(JSON.stringify({ t: time.toISOString(), i: id }), 'utf8').toString('base64url');
}

export function decodeSignInCursor(cursor: string): { time: Date; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      t?: unknown;
      i?: unknown;
    };
    if (typeof parsed.t === 'string' && typeof parsed.i === 'string' && ID.test(parsed.i)) {
      const time = new Date(parsed.t);
      if (!Number.isNaN(time.getTime())) return { time, id: parsed.i };
    }
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('cursor is not one this API returned', 'cursor');
}

/** Newest first. */
export async function listSignIns(db: Db, query: SignInQuery = {}): Promise<Page<SignIn>> {
  const limit = query.limit ?? DEFAULT_SIGN_IN_PAGE;
  const rows = await signInPageQuery(db, query).execute();
  const items = rows.slice(0, limit);
  const page: Page<SignIn> = { items: items.map(toSignIn) };
  const last = items.at(-1);
  if (rows.length > limit && last) page.next_cursor = encodeSignInCursor(last.time, String(last.id));
  return page;
}

/** The SELECT of one page (plus one row, to know whether there is a next page); validates the query. */
export function signInPageQuery(db: Db, query: SignInQuery) {
  const limit = query.limit ?? DEFAULT_SIGN_IN_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SIGN_IN_PAGE)
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_SIGN_IN_PAGE}`, 'limit');
  if (query.from && query.to && query.from >= query.to)
    throw new ValidationError('from must be before to', 'from');
  let select = db.selectFrom('sign_in_log').selectAll();
  if (query.cursor) {
    const after = decodeSignInCursor(query.cursor);
    // Row comparison: PostgreSQL walks the (…, time desc, id desc) index from this point.
    select = select.where(sql<boolean>`(time, id) < (${after.time}::timestamptz, ${after.id}::bigint)`);
  }
  if (query.from) select = select.where('time', '>=', query.from);
  if (query.to) select = select.where('time', '<', query.to);
  if (query.principal)
    select = UUID.test(query.principal)
      ? select.where('principal_id', '=', query.principal.toLowerCase())
      : select.where('principal_name', '=', query.principal);
  if (query.app) select = select.where('client_id', '=', query.app);
  if (query.api) select = select.where('api_audience', '=', query.api);
  if (query.correlationId) select = select.where('correlation_id', '=', query.correlationId);
  // Literal predicates, so the planner matches the partial indexes (migration 010) whatever the plan.
  if (query.cae !== undefined)
    select = select.where(query.cae ? sql<boolean>`cae_token` : sql<boolean>`not cae_token`);
  if (query.result)
    select = select.where(
      query.result === 'failure' ? sql<boolean>`result = 'failure'` : sql<boolean>`result = 'success'`,
    );
  return select
    .orderBy('time', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
}

export async function getSignIn(db: Db, id: string): Promise<SignIn> {
  const row = ID.test(id)
    ? await db
        .selectFrom('sign_in_log')
        .selectAll()
        .where('id', '=', id as never)
        .executeTakeFirst()
    : undefined;
  if (!row) throw new NotFoundError(`no sign-in "${id}"`);
  return toSignIn(row);
}
