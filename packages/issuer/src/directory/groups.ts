/** Groups of users (for Conditional Access assignments and the console). */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from '../storage/database.js';
import type { GroupsTable } from '../storage/schema.js';
import { writeAudit } from './audit-log.js';
import { assertStorable, type DirectoryContext, timeOf } from './directory-context.js';
import { ConflictError, isUniqueViolation, NotFoundError, ValidationError } from './errors.js';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';
import { isUuid } from './references.js';
import { inTransaction } from './transaction.js';
import { findUserRow, toUser, type User } from './users.js';

export interface Group {
  id: string;
  name: string;
  description: string;
  created_at: string;
}

const toGroup = (row: Selectable<GroupsTable>): Group => ({
  id: row.id,
  name: row.name,
  description: row.description,
  created_at: row.created_at.toISOString(),
});

export async function createGroup(
  context: DirectoryContext,
  input: { name: string; description?: string | undefined },
): Promise<Group> {
  assertStorable(input.name, 'name', 256);
  if (input.name.trim() === '' || isUuid(input.name))
    throw new ValidationError('name must not be blank or a UUID', 'name');
  assertStorable(input.description ?? '', 'description', 2000);
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    let row: Selectable<GroupsTable>;
    try {
      row = await trx
        .insertInto('groups')
        .values({ id: randomUUID(), name: input.name, description: input.description ?? '', created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`the group name "${input.name}" is taken`);
      throw error;
    }
    const group = toGroup(row);
    await writeAudit(
      trx,
      { actor: context.actor, action: 'group.create', targetType: 'group', targetId: group.id, after: group },
      now,
    );
    return group;
  });
}

/** A group by id or name. */
export async function getGroup(db: Db, reference: string): Promise<Group> {
  const row = await db
    .selectFrom('groups')
    .selectAll()
    .where(isUuid(reference) ? 'id' : 'name', '=', reference)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`no group "${reference}"`);
  return toGroup(row);
}

/** Ordered by name. */
export async function listGroups(db: Db, query: PageRequest = {}): Promise<Page<Group>> {
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db.selectFrom('groups').selectAll();
  if (after !== undefined) select = select.where('name', '>', after);
  const rows = await select
    .orderBy('name')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (row) => row.name, toGroup);
}

export async function deleteGroup(context: DirectoryContext, reference: string): Promise<void> {
  const now = timeOf(context);
  await inTransaction(context.db, async (trx) => {
    const group = await getGroup(trx, reference);
    await trx.deleteFrom('groups').where('id', '=', group.id).execute();
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'group.delete',
        targetType: 'group',
        targetId: group.id,
        before: group,
      },
      now,
    );
  });
}

export async function addGroupMember(
  context: DirectoryContext,
  groupReference: string,
  userReference: string,
): Promise<void> {
  const now = timeOf(context);
  await inTransaction(context.db, async (trx) => {
    const group = await getGroup(trx, groupReference);
    const user = await findUserRow(trx, userReference);
    const added = await trx
      .insertInto('group_members')
      .values({ group_id: group.id, user_id: user.id })
      .onConflict((conflict) => conflict.doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (added)
      await writeAudit(
        trx,
        {
          actor: context.actor,
          action: 'group.member.add',
          targetType: 'group',
          targetId: group.id,
          after: { user_id: user.id },
        },
        now,
      );
  });
}

export async function removeGroupMember(
  context: DirectoryContext,
  groupReference: string,
  userReference: string,
): Promise<void> {
  const now = timeOf(context);
  await inTransaction(context.db, async (trx) => {
    const group = await getGroup(trx, groupReference);
    const user = await findUserRow(trx, userReference, { includeDeleted: true });
    const removed = await trx
      .deleteFrom('group_members')
      .where('group_id', '=', group.id)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (removed.numDeletedRows === 0n)
      throw new NotFoundError(`user "${userReference}" is not a member of group "${groupReference}"`);
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'group.member.remove',
        targetType: 'group',
        targetId: group.id,
        before: { user_id: user.id },
      },
      now,
    );
  });
}

/** Members ordered by username. */
export async function listGroupMembers(
  db: Db,
  groupReference: string,
  query: PageRequest = {},
): Promise<Page<User>> {
  const group = await getGroup(db, groupReference);
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .selectAll('users')
    .where('group_members.group_id', '=', group.id)
    .where('users.deleted_at', 'is', null);
  if (after !== undefined) select = select.where('users.username', '>', after);
  const rows = await select
    .orderBy('users.username')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (row) => row.username, toUser);
}
