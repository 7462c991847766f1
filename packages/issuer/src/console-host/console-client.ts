/**
 * The console is an OAuth public client of this issuer (authorization code + PKCE, no secret), with
 * redirect URI `<issuer>/console/` and the delegated scope `admin` on urn:opencae:admin. It is
 * registered at start, idempotently: one application per issuer (remembered in settings), its
 * redirect URI kept in step with the issuer URL, serialized with an advisory lock across replicas.
 */
import { sql } from 'kysely';
import { ADMIN_AUDIENCE, ADMIN_ROLE } from '../built-in-apis.js';
import { findApiRow } from '../directory/apis.js';
import { createApplication, findApplication, updateApplication } from '../directory/applications.js';
import { NotFoundError } from '../directory/errors.js';
import { grantApiAccess } from '../directory/grants.js';
import type { Db } from '../storage/database.js';

export const CONSOLE_PATH = '/console';
export const CONSOLE_CLIENT_NAME = 'OpenCAE console';
const CONSOLE_CLIENT_SETTING = 'console_client';
const CONSOLE_CLIENT_LOCK = 7368240006;

export interface ConsoleClient {
  clientId: string;
  redirectUri: string;
  /** What the console asks for: an ID token for the admin's name, and `admin` on the admin API. */
  scope: string;
  /** True when this call created the application. */
  created: boolean;
}

export function consoleRedirectUri(issuer: string): string {
  return `${issuer}${CONSOLE_PATH}/`;
}

export async function ensureConsoleClient(db: Db, issuer: string): Promise<ConsoleClient> {
  const redirectUri = consoleRedirectUri(issuer);
  const scope = `openid profile ${ADMIN_AUDIENCE}/${ADMIN_ROLE}`;
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${CONSOLE_CLIENT_LOCK})`.execute(trx);
    const context = { db: trx, issuer, actor: 'system' };
    const setting = await trx
      .selectFrom('settings')
      .select('value')
      .where('key', '=', CONSOLE_CLIENT_SETTING)
      .executeTakeFirst();
    const known = (setting?.value as { client_id?: string } | undefined)?.client_id;
    if (known) {
      try {
        // includeDeleted: an administrator who deleted the console's service principal meant it.
        const { app, sp } = await findApplication(trx, known, { includeDeleted: true });
        if (!sp.deleted_at && !app.redirect_uris.includes(redirectUri))
          await updateApplication(context, known, { redirectUris: [redirectUri] });
        return { clientId: known, redirectUri, scope, created: false };
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        // The application row itself is gone: register a new one below.
      }
    }
    await findApiRow(trx, ADMIN_AUDIENCE);
    const created = await createApplication(context, {
      name: CONSOLE_CLIENT_NAME,
      credential: 'none',
      redirectUris: [redirectUri],
    });
    const clientId = created.application.client_id;
    await grantApiAccess(context, { application: clientId, api: ADMIN_AUDIENCE, scopes: [ADMIN_ROLE] });
    await trx
      .insertInto('settings')
      .values({ key: CONSOLE_CLIENT_SETTING, value: JSON.stringify({ client_id: clientId }) })
      .onConflict((conflict) =>
        conflict.column('key').doUpdateSet({ value: JSON.stringify({ client_id: clientId }) }),
      )
      .execute();
    return { clientId, redirectUri, scope, created: true };
  });
}
