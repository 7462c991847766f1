/**
 * First start of an issuer: the tenant id, the built-in APIs (admin, Shared Signals), the built-in
 * administrators group and the bootstrap admin application whose credentials go to
 * `<dataDir>/admin.json` (mode 0600), once. Idempotent and serialized with an advisory lock, so
 * replicas starting together on one PostgreSQL create one of each.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import {
  ADMIN_AUDIENCE,
  ADMIN_ROLE,
  ADMINISTRATORS_GROUP,
  SSF_AUDIENCE,
  SSF_PERMISSIONS,
} from '../built-in-apis.js';
import type { Db } from '../storage/database.js';
import { ensureBuiltInApi } from './apis.js';
import { createApplication } from './applications.js';
import { grantApiAccess } from './grants.js';
import { createGroup } from './groups.js';

export const ADMIN_CREDENTIALS_FILE = 'admin.json';
/**
 * The built-in group of administrators: only its members get the delegated `admin` scope on the admin
 * API (the console signs users in for it), whatever the console application was granted.
 */

const BOOTSTRAP_LOCK = 7368240002;
const BOOTSTRAP_SETTING = 'bootstrap_admin';

export interface AdminCredentials {
  issuer: string;
  client_id: string;
  client_secret: string;
}

export interface BootstrapResult {
  tenantId: string;
  adminClientId: string;
  /** The id of the built-in administrators group. */
  administratorsGroupId: string;
  /** Set when this call created the admin application and wrote the credentials file. */
  credentialsFile?: string;
  /**
   * Set when this call created the admin application on an in-memory store (`memory://`), which has no
   * folder for admin.json: the only copy of the secret, for the embedding program or test.
   */
  credentials?: AdminCredentials;
}

/** The tenant id (`tid`), created on first use (the token service may create it first; same format). */
export async function ensureTenantId(db: Db): Promise<string> {
  await db
    .insertInto('settings')
    .values({ key: 'tenant_id', value: JSON.stringify(randomUUID()) })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'tenant_id')
    .executeTakeFirstOrThrow();
  return String(row.value);
}

export async function bootstrapDirectory(
  db: Db,
  options: { issuer: string; dataDir: string },
): Promise<BootstrapResult> {
  // An in-memory store has no data folder: writing there would create a `memory:` folder in the cwd.
  const inMemory = options.dataDir.startsWith('memory://');
  const file = join(options.dataDir, ADMIN_CREDENTIALS_FILE);
  let wroteFile = false;
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`.execute(trx);
      const tenantId = await ensureTenantId(trx);
      await ensureBuiltInApi(trx, {
        audience: ADMIN_AUDIENCE,
        name: 'OpenCAE admin API',
        scopes: [ADMIN_ROLE],
        appRoles: [ADMIN_ROLE],
      });
      await ensureBuiltInApi(trx, {
        audience: SSF_AUDIENCE,
        name: 'OpenCAE Shared Signals stream management',
        scopes: [...SSF_PERMISSIONS],
        appRoles: [...SSF_PERMISSIONS],
      });
      const administratorsGroupId = await ensureAdministratorsGroup(trx, options.issuer);
      const existing = await trx
        .selectFrom('settings')
        .select('value')
        .where('key', '=', BOOTSTRAP_SETTING)
        .executeTakeFirst();
      if (existing) {
        const { client_id } = existing.value as { client_id: string };
        return { tenantId, adminClientId: client_id, administratorsGroupId };
      }
      const context = { db: trx, issuer: options.issuer, actor: 'system' };
      const created = await createApplication(context, {
        name: 'opencae-admin',
        credential: 'client_secret',
      });
      const clientId = created.application.client_id;
      await grantApiAccess(context, { application: clientId, api: ADMIN_AUDIENCE, roles: [ADMIN_ROLE] });
      await trx
        .insertInto('settings')
        .values({ key: BOOTSTRAP_SETTING, value: JSON.stringify({ client_id: clientId }) })
        .execute();
      // Written before the commit: a failed write rolls the bootstrap back and the next start retries.
      const credentials: AdminCredentials = {
        issuer: options.issuer,
        client_id: clientId,
        client_secret: created.client_secret!.value,
      };
      if (inMemory) return { tenantId, adminClientId: clientId, administratorsGroupId, credentials };
      await writeCredentialsFile(file, credentials);
      wroteFile = true;
      return { tenantId, adminClientId: clientId, administratorsGroupId, credentialsFile: file };
    });
  } catch (error) {
    // The commit failed after the file was written: its credentials do not exist.
    if (wroteFile) await rm(file, { force: true });
    throw error;
  }
}

/** The administrators group, created when missing (read first: a write notifies every replica's cache). */
async function ensureAdministratorsGroup(trx: Db, issuer: string): Promise<string> {
  const existing = await trx
    .selectFrom('groups')
    .select('id')
    .where('name', '=', ADMINISTRATORS_GROUP)
    .executeTakeFirst();
  if (existing) return existing.id;
  const group = await createGroup(
    { db: trx, issuer, actor: 'system' },
    {
      name: ADMINISTRATORS_GROUP,
      description: 'Members may administer OpenCAE: the console and the admin API as themselves.',
    },
  );
  return group.id;
}

async function writeCredentialsFile(file: string, credentials: AdminCredentials): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  await rename(temporary, file);
}
