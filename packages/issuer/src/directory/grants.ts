/**
 * Grants of applications to APIs: the app roles an application gets in app-only tokens and the
 * delegated scopes it may request for users. Every granted value must exist on the API.
 */
import type { Db } from '../storage/database.js';
import { findApiRow } from './apis.js';
import { findApplication } from './applications.js';
import { writeAudit } from './audit-log.js';
import { type DirectoryContext, timeOf } from './directory-context.js';
import { NotFoundError, ValidationError } from './errors.js';
import { assertPermissionNames } from './names.js';
import { inTransaction } from './transaction.js';

export interface Grant {
  application_id: string;
  client_id: string;
  api_id: string;
  audience: string;
  scopes: string[];
  roles: string[];
}

export interface GrantInput {
  application: string;
  api: string;
  scopes?: readonly string[] | undefined;
  roles?: readonly string[] | undefined;
}

/** Creates or replaces the grant of an application to an API. */
export async function grantApiAccess(context: DirectoryContext, input: GrantInput): Promise<Grant> {
  const scopes = assertPermissionNames(input.scopes ?? [], 'scopes');
  const roles = assertPermissionNames(input.roles ?? [], 'roles');
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    const { app } = await findApplication(trx, input.application);
    const api = await findApiRow(trx, input.api);
    const unknownScope = scopes.find((scope) => !api.scopes.includes(scope));
    if (unknownScope)
      throw new ValidationError(`the API ${api.audience} has no scope "${unknownScope}"`, 'scopes');
    const unknownRole = roles.find((role) => !api.app_roles.includes(role));
    if (unknownRole)
      throw new ValidationError(`the API ${api.audience} has no app role "${unknownRole}"`, 'roles');
    const previous = await trx
      .selectFrom('api_grants')
      .select(['scopes', 'roles'])
      .where('application_id', '=', app.id)
      .where('api_id', '=', api.id)
      .executeTakeFirst();
    await trx
      .insertInto('api_grants')
      .values({
        application_id: app.id,
        api_id: api.id,
        scopes: JSON.stringify(scopes),
        roles: JSON.stringify(roles),
      })
      .onConflict((conflict) =>
        conflict
          .columns(['application_id', 'api_id'])
          .doUpdateSet({ scopes: JSON.stringify(scopes), roles: JSON.stringify(roles) }),
      )
      .execute();
    const grant: Grant = {
      application_id: app.id,
      client_id: app.client_id,
      api_id: api.id,
      audience: api.audience,
      scopes,
      roles,
    };
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'grant.set',
        targetType: 'application',
        targetId: app.id,
        before: previous ? { audience: api.audience, ...previous } : null,
        after: grant,
      },
      now,
    );
    return grant;
  });
}

export async function revokeApiAccess(
  context: DirectoryContext,
  application: string,
  api: string,
): Promise<void> {
  const now = timeOf(context);
  await inTransaction(context.db, async (trx) => {
    const { app } = await findApplication(trx, application);
    const apiRow = await findApiRow(trx, api);
    const removed = await trx
      .deleteFrom('api_grants')
      .where('application_id', '=', app.id)
      .where('api_id', '=', apiRow.id)
      .returning(['scopes', 'roles'])
      .executeTakeFirst();
    if (!removed) throw new NotFoundError(`application ${app.client_id} has no grant on ${apiRow.audience}`);
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'grant.revoke',
        targetType: 'application',
        targetId: app.id,
        before: { audience: apiRow.audience, ...removed },
      },
      now,
    );
  });
}

/** Grants, filtered by application and/or API (references as elsewhere). */
export async function listGrants(
  db: Db,
  filter: { application?: string | undefined; api?: string | undefined } = {},
): Promise<Grant[]> {
  let select = db
    .selectFrom('api_grants')
    .innerJoin('applications', 'applications.id', 'api_grants.application_id')
    .innerJoin('apis', 'apis.id', 'api_grants.api_id')
    .select([
      'api_grants.application_id',
      'applications.client_id',
      'api_grants.api_id',
      'apis.audience',
      'api_grants.scopes',
      'api_grants.roles',
    ]);
  if (filter.application) {
    const { app } = await findApplication(db, filter.application, { includeDeleted: true });
    select = select.where('api_grants.application_id', '=', app.id);
  }
  if (filter.api) {
    const api = await findApiRow(db, filter.api);
    select = select.where('api_grants.api_id', '=', api.id);
  }
  return select.orderBy('applications.client_id').orderBy('apis.audience').limit(1000).execute();
}
