/**
 * APIs (resource servers): the audience tokens are issued for, their delegated scopes and app roles,
 * and whether they are CAE-enabled (Entra's `xms_cc` optional claim: CAE-capable clients then get
 * long-lived tokens carrying `xms_cc`).
 */
import { randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import type { Db } from '../storage/database.js';
import type { ApisTable } from '../storage/schema.js';
import { writeAudit } from './audit-log.js';
import { assertStorable, type DirectoryContext, timeOf } from './directory-context.js';
import { ConflictError, isUniqueViolation, NotFoundError } from './errors.js';
import { assertAudience, assertPermissionNames } from './names.js';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';
import { isUuid } from './references.js';
import { inTransaction } from './transaction.js';

export interface Api {
  id: string;
  audience: string;
  name: string;
  cae_enabled: boolean;
  scopes: string[];
  app_roles: string[];
  built_in: boolean;
  created_at: string;
}

export const toApi = (row: Selectable<ApisTable>): Api => ({
  id: row.id,
  audience: row.audience,
  name: row.name,
  cae_enabled: row.cae_enabled,
  scopes: row.scopes,
  app_roles: row.app_roles,
  built_in: row.built_in,
  created_at: row.created_at.toISOString(),
});

export interface CreateApiInput {
  audience: string;
  name?: string | undefined;
  caeEnabled?: boolean | undefined;
  scopes?: readonly string[] | undefined;
  appRoles?: readonly string[] | undefined;
}

export interface UpdateApiInput {
  name?: string | undefined;
  caeEnabled?: boolean | undefined;
  scopes?: readonly string[] | undefined;
  appRoles?: readonly string[] | undefined;
}

export async function createApi(
  context: DirectoryContext,
  input: CreateApiInput,
  options: { builtIn?: boolean } = {},
): Promise<Api> {
  assertAudience(input.audience);
  const name = input.name ?? input.audience;
  assertStorable(name, 'name', 256);
  const scopes = assertPermissionNames(input.scopes ?? [], 'scopes');
  const appRoles = assertPermissionNames(input.appRoles ?? [], 'app_roles');
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    let row: Selectable<ApisTable>;
    try {
      row = await trx
        .insertInto('apis')
        .values({
          id: randomUUID(),
          audience: input.audience,
          name,
          cae_enabled: input.caeEnabled ?? false,
          scopes: JSON.stringify(scopes),
          app_roles: JSON.stringify(appRoles),
          built_in: options.builtIn ?? false,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`an API with audience "${input.audience}" exists`);
      throw error;
    }
    const api = toApi(row);
    await writeAudit(
      trx,
      { actor: context.actor, action: 'api.create', targetType: 'api', targetId: api.id, after: api },
      now,
    );
    return api;
  });
}

/** An API by id or audience. */
export async function findApiRow(
  db: Db,
  reference: string,
  options: { forUpdate?: boolean } = {},
): Promise<Selectable<ApisTable>> {
  let query = db
    .selectFrom('apis')
    .selectAll()
    .where(isUuid(reference) ? 'id' : 'audience', '=', reference);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new NotFoundError(`no API "${reference}"`);
  return row;
}

export async function getApi(db: Db, reference: string): Promise<Api> {
  return toApi(await findApiRow(db, reference));
}

/** Ordered by audience. */
export async function listApis(db: Db, query: PageRequest = {}): Promise<Page<Api>> {
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db.selectFrom('apis').selectAll();
  if (after !== undefined) select = select.where('audience', '>', after);
  const rows = await select
    .orderBy('audience')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (row) => row.audience, toApi);
}

/**
 * Renames, toggles CAE, or replaces scopes/app roles. A scope or role still granted to an application
 * cannot be removed (revoke the grant first); the permissions of built-in APIs are fixed.
 */
export async function updateApi(
  context: DirectoryContext,
  reference: string,
  input: UpdateApiInput,
): Promise<Api> {
  if (input.name !== undefined) assertStorable(input.name, 'name', 256);
  const scopes = input.scopes && assertPermissionNames(input.scopes, 'scopes');
  const appRoles = input.appRoles && assertPermissionNames(input.appRoles, 'app_roles');
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    const before = toApi(await findApiRow(trx, reference, { forUpdate: true }));
    if (before.built_in && (scopes || appRoles))
      throw new ConflictError(`the scopes and roles of the built-in API "${before.audience}" cannot change`);
    if (scopes || appRoles) await assertStillGranted(trx, before.id, scopes, appRoles);
    const row = await trx
      .updateTable('apis')
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.caeEnabled !== undefined ? { cae_enabled: input.caeEnabled } : {}),
        ...(scopes ? { scopes: JSON.stringify(scopes) } : {}),
        ...(appRoles ? { app_roles: JSON.stringify(appRoles) } : {}),
      })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = toApi(row);
    await writeAudit(
      trx,
      { actor: context.actor, action: 'api.update', targetType: 'api', targetId: after.id, before, after },
      now,
    );
    return after;
  });
}

async function assertStillGranted(
  trx: Db,
  apiId: string,
  scopes: string[] | undefined,
  appRoles: string[] | undefined,
): Promise<void> {
  const grants = await trx
    .selectFrom('api_grants')
    .innerJoin('applications', 'applications.id', 'api_grants.application_id')
    .select(['applications.client_id', 'api_grants.scopes', 'api_grants.roles'])
    .where('api_grants.api_id', '=', apiId)
    .execute();
  for (const grant of grants) {
    const lostScope = scopes && grant.scopes.find((scope) => !scopes.includes(scope));
    const lostRole = appRoles && grant.roles.find((role) => !appRoles.includes(role));
    const lost = lostScope ?? lostRole;
    if (lost)
      throw new ConflictError(
        `"${lost}" is still granted to application ${grant.client_id}; revoke that grant first`,
      );
  }
}

export async function deleteApi(context: DirectoryContext, reference: string): Promise<void> {
  const now = timeOf(context);
  await inTransaction(context.db, async (trx) => {
    const api = toApi(await findApiRow(trx, reference, { forUpdate: true }));
    if (api.built_in) throw new ConflictError(`the built-in API "${api.audience}" cannot be deleted`);
    await trx.deleteFrom('apis').where('id', '=', api.id).execute();
    await writeAudit(
      trx,
      { actor: context.actor, action: 'api.delete', targetType: 'api', targetId: api.id, before: api },
      now,
    );
  });
}

/** Creates a built-in API unless it exists (bootstrap; safe when replicas race). */
export async function ensureBuiltInApi(
  trx: Db,
  input: { audience: string; name: string; scopes: string[]; appRoles: string[] },
): Promise<void> {
  await trx
    .insertInto('apis')
    .values({
      id: randomUUID(),
      audience: input.audience,
      name: input.name,
      cae_enabled: false,
      scopes: JSON.stringify(input.scopes),
      app_roles: JSON.stringify(input.appRoles),
      built_in: true,
      created_at: sql<Date>`now()`,
    })
    .onConflict((conflict) => conflict.column('audience').doNothing())
    .execute();
}
