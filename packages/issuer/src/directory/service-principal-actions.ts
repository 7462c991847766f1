/**
 * Critical actions on service principals (workload identities): disable, enable, delete. Their events
 * carry the service principal id, the `sub`/`oid` of the app-only tokens it obtained.
 */
import type { Updateable } from 'kysely';
import type { Db } from '../storage/database.js';
import type { ServicePrincipalsTable } from '../storage/schema.js';
import { type Application, type ApplicationRow, findApplication, toApplication } from './applications.js';
import { type ActionResult, runCriticalAction } from './critical-action.js';
import type { DirectoryContext } from './directory-context.js';
import {
  accountDisabledEvent,
  accountEnabledEvent,
  accountPurgedEvent,
  type EventPrincipal,
} from './security-events.js';
import type { ActionOptions } from './user-actions.js';

export function servicePrincipalOf(spId: string): EventPrincipal {
  return { type: 'service_principal', id: spId };
}

export async function setServicePrincipalColumns(
  trx: Db,
  id: string,
  set: Updateable<ServicePrincipalsTable>,
) {
  return trx
    .updateTable('service_principals')
    .set(set)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Ends the oidc-provider grants and sessions held for the client (delete). */
async function deleteOidcStateOfClient(trx: Db, app: ApplicationRow): Promise<void> {
  await trx.deleteFrom('oidc_models').where('client_id', '=', app.client_id).execute();
}

export function disableServicePrincipal(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<Application>> {
  return runCriticalAction(context, 'service_principal.disable', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const before = toApplication(app, sp);
    if (!sp.enabled)
      return {
        targetType: 'service_principal',
        targetId: sp.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toApplication(
      app,
      await setServicePrincipalColumns(trx, sp.id, { enabled: false, updated_at: cause.at }),
    );
    const reason = options.reason ?? 'service principal disabled by an administrator';
    return {
      targetType: 'service_principal',
      targetId: sp.id,
      before,
      after,
      result: after,
      events: [
        accountDisabledEvent({
          issuer: context.issuer,
          principal: servicePrincipalOf(sp.id),
          at: cause.at,
          reason,
        }),
      ],
    };
  });
}

export function enableServicePrincipal(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<Application>> {
  return runCriticalAction(context, 'service_principal.enable', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const before = toApplication(app, sp);
    if (sp.enabled)
      return {
        targetType: 'service_principal',
        targetId: sp.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toApplication(
      app,
      await setServicePrincipalColumns(trx, sp.id, { enabled: true, updated_at: cause.at }),
    );
    const reason = options.reason ?? 'service principal enabled by an administrator';
    return {
      targetType: 'service_principal',
      targetId: sp.id,
      before,
      after,
      result: after,
      events: [
        accountEnabledEvent({
          issuer: context.issuer,
          principal: servicePrincipalOf(sp.id),
          at: cause.at,
          reason,
        }),
      ],
    };
  });
}

/** Soft delete of the service principal (the application registration stays for the audit trail). */
export function deleteServicePrincipal(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<Application>> {
  return runCriticalAction(context, 'service_principal.delete', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const before = toApplication(app, sp);
    const after = toApplication(
      app,
      await setServicePrincipalColumns(trx, sp.id, { deleted_at: cause.at, updated_at: cause.at }),
    );
    await trx
      .updateTable('client_secrets')
      .set({ revoked_at: cause.at })
      .where('application_id', '=', app.id)
      .where('revoked_at', 'is', null)
      .execute();
    await deleteOidcStateOfClient(trx, app);
    const reason = options.reason ?? 'service principal deleted by an administrator';
    return {
      targetType: 'service_principal',
      targetId: sp.id,
      before,
      after,
      result: after,
      events: [
        accountPurgedEvent({
          issuer: context.issuer,
          principal: servicePrincipalOf(sp.id),
          at: cause.at,
          reason,
        }),
      ],
    };
  });
}
