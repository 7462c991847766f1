/**
 * Users of the directory: members and guests. Passwords are stored as scrypt hashes and never leave
 * this module; the `User` view is what the admin API returns and what the audit log records.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { hashPassword } from '../crypto/secrets.js';
import type { Db } from '../storage/database.js';
import type { RiskLevel, UserKind, UsersTable } from '../storage/schema.js';
import { writeAudit } from './audit-log.js';
import { assertStorable, type DirectoryContext, hasControlCharacter, timeOf } from './directory-context.js';
import { ConflictError, isUniqueViolation, NotFoundError, ValidationError } from './errors.js';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';
import { isUuid } from './references.js';
import { inTransaction } from './transaction.js';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export interface User {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  kind: UserKind;
  enabled: boolean;
  deleted_at: string | null;
  mfa_required: boolean;
  mfa_enrolled: boolean;
  risk_level: RiskLevel;
  credentials_changed_at: string | null;
  sessions_revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

export type UserRow = Selectable<UsersTable>;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    email: row.email,
    kind: row.kind,
    enabled: row.enabled,
    deleted_at: iso(row.deleted_at),
    mfa_required: row.mfa_required,
    mfa_enrolled: row.totp_enrolled_at !== null,
    risk_level: row.risk_level,
    credentials_changed_at: iso(row.credentials_changed_at),
    sessions_revoked_at: iso(row.sessions_revoked_at),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export interface CreateUserInput {
  username: string;
  password?: string | undefined;
  displayName?: string | undefined;
  email?: string | null | undefined;
  kind?: UserKind | undefined;
}

export interface UpdateUserInput {
  displayName?: string | undefined;
  email?: string | null | undefined;
  kind?: UserKind | undefined;
}

export function assertUsername(username: string): void {
  assertStorable(username, 'username', 256);
  if (username.trim() === '' || hasControlCharacter(username))
    throw new ValidationError('username must not be blank or contain control characters', 'username');
  // A UUID-shaped username would be ambiguous with user ids in references.
  if (isUuid(username)) throw new ValidationError('username must not be a UUID', 'username');
}

export function assertPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH)
    throw new ValidationError(
      `password must have ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      'password',
    );
  assertStorable(password, 'password', PASSWORD_MAX_LENGTH);
}

function assertEmail(email: string): void {
  assertStorable(email, 'email', 254);
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new ValidationError('email is not an email address', 'email');
}

export async function createUser(context: DirectoryContext, input: CreateUserInput): Promise<User> {
  assertUsername(input.username);
  if (input.password !== undefined) assertPassword(input.password);
  if (input.email) assertEmail(input.email);
  const displayName = input.displayName ?? input.username;
  assertStorable(displayName, 'display_name', 256);
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    let row: UserRow;
    try {
      row = await trx
        .insertInto('users')
        .values({
          id: randomUUID(),
          username: input.username,
          display_name: displayName,
          email: input.email ?? null,
          kind: input.kind ?? 'member',
          password_hash: passwordHash,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`the username "${input.username}" is taken`);
      throw error;
    }
    const user = toUser(row);
    await writeAudit(
      trx,
      { actor: context.actor, action: 'user.create', targetType: 'user', targetId: user.id, after: user },
      now,
    );
    return user;
  });
}

export interface FindOptions {
  includeDeleted?: boolean;
  /** Locks the row until the transaction ends, so concurrent critical actions apply one after another. */
  forUpdate?: boolean;
}

/** A user by id or username; deleted users only when asked. */
export async function findUserRow(db: Db, reference: string, options: FindOptions = {}): Promise<UserRow> {
  let query = db
    .selectFrom('users')
    .selectAll()
    .where(isUuid(reference) ? 'id' : 'username', '=', reference);
  if (!options.includeDeleted) query = query.where('deleted_at', 'is', null);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new NotFoundError(`no user "${reference}"`);
  return row;
}

export async function getUser(db: Db, reference: string, options: FindOptions = {}): Promise<User> {
  return toUser(await findUserRow(db, reference, options));
}

export interface UserQuery extends PageRequest {
  includeDeleted?: boolean | undefined;
  kind?: UserKind | undefined;
}

/** Ordered by username. */
export async function listUsers(db: Db, query: UserQuery = {}): Promise<Page<User>> {
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db.selectFrom('users').selectAll();
  if (after !== undefined) select = select.where('username', '>', after);
  if (!query.includeDeleted) select = select.where('deleted_at', 'is', null);
  if (query.kind) select = select.where('kind', '=', query.kind);
  const rows = await select
    .orderBy('username')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (row) => row.username, toUser);
}

/** Profile fields only; state that causes security events changes through the critical actions. */
export async function updateUser(
  context: DirectoryContext,
  reference: string,
  input: UpdateUserInput,
): Promise<User> {
  if (input.displayName !== undefined) assertStorable(input.displayName, 'display_name', 256);
  if (input.email) assertEmail(input.email);
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    const before = toUser(await findUserRow(trx, reference, { forUpdate: true }));
    const row = await trx
      .updateTable('users')
      .set({
        ...(input.displayName !== undefined ? { display_name: input.displayName } : {}),
        ...(input.email !== undefined ? { email: input.email || null } : {}),
        ...(input.kind !== undefined ? { kind: input.kind } : {}),
        updated_at: now,
      })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = toUser(row);
    await writeAudit(
      trx,
      { actor: context.actor, action: 'user.update', targetType: 'user', targetId: after.id, before, after },
      now,
    );
    return after;
  });
}

/** Ids and names of the groups the user belongs to. */
export async function groupsOfUser(db: Db, userId: string): Promise<{ id: string; name: string }[]> {
  return db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['groups.id', 'groups.name'])
    .where('group_members.user_id', '=', userId)
    .orderBy('groups.name')
    .execute();
}
