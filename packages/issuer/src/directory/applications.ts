/**
 * Client applications and their service principals. The application is the registration (client_id,
 * redirect URIs, how it authenticates); its service principal is the workload identity (`oid`/`sub`
 * of app-only tokens) that can be disabled, deleted or flagged as risky.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { generateClientSecret, hashClientSecret, secretHint } from '../crypto/secrets.js';
import type { Db } from '../storage/database.js';
import type {
  ApplicationsTable,
  ClientSecretsTable,
  RiskLevel,
  ServicePrincipalsTable,
} from '../storage/schema.js';
import { writeAudit } from './audit-log.js';
import { type ClientKey, validateClientJwks } from './client-keys.js';
import { assertStorable, type DirectoryContext, timeOf } from './directory-context.js';
import { NotFoundError, ValidationError } from './errors.js';
import { assertRedirectUri } from './names.js';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';
import { isUuid } from './references.js';
import { inTransaction } from './transaction.js';

/** How the client authenticates at the token endpoint. */
export type ClientCredentialKind = 'client_secret' | 'private_key_jwt' | 'none';

export const AUTH_METHODS: Record<ClientCredentialKind, string> = {
  client_secret: 'client_secret_basic',
  private_key_jwt: 'private_key_jwt',
  none: 'none',
};

export interface ServicePrincipal {
  id: string;
  enabled: boolean;
  deleted_at: string | null;
  risk_level: RiskLevel;
  credentials_changed_at: string | null;
  sessions_revoked_at: string | null;
}

export interface Certificate {
  kid: string;
  kty: string;
  alg?: string;
  crv?: string;
}

export interface Application {
  id: string;
  client_id: string;
  name: string;
  redirect_uris: string[];
  grant_types: string[];
  token_endpoint_auth_method: string;
  certificates: Certificate[];
  service_principal: ServicePrincipal;
  created_at: string;
}

export interface ClientSecretInfo {
  id: string;
  hint: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** A new client secret: `value` is shown once and never stored. */
export interface IssuedClientSecret extends ClientSecretInfo {
  value: string;
}

export interface CreatedApplication {
  application: Application;
  client_secret?: IssuedClientSecret;
}

export interface CreateApplicationInput {
  name: string;
  credential?: ClientCredentialKind | undefined;
  /** Public keys for private_key_jwt. */
  jwks?: unknown;
  redirectUris?: readonly string[] | undefined;
  secretExpiresAt?: Date | undefined;
}

export type ApplicationRow = Selectable<ApplicationsTable>;
export type ServicePrincipalRow = Selectable<ServicePrincipalsTable>;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toServicePrincipal(row: ServicePrincipalRow): ServicePrincipal {
  return {
    id: row.id,
    enabled: row.enabled,
    deleted_at: iso(row.deleted_at),
    risk_level: row.risk_level,
    credentials_changed_at: iso(row.credentials_changed_at),
    sessions_revoked_at: iso(row.sessions_revoked_at),
  };
}

export function toCertificate(key: Record<string, unknown>): Certificate {
  const certificate: Certificate = { kid: String(key.kid), kty: String(key.kty) };
  if (typeof key.alg === 'string') certificate.alg = key.alg;
  if (typeof key.crv === 'string') certificate.crv = key.crv;
  return certificate;
}

export function toApplication(app: ApplicationRow, sp: ServicePrincipalRow): Application {
  return {
    id: app.id,
    client_id: app.client_id,
    name: app.name,
    redirect_uris: app.redirect_uris,
    grant_types: app.grant_types,
    token_endpoint_auth_method: app.token_endpoint_auth_method,
    certificates: (app.jwks?.keys ?? []).map(toCertificate),
    service_principal: toServicePrincipal(sp),
    created_at: app.created_at.toISOString(),
  };
}

export function toSecretInfo(row: Selectable<ClientSecretsTable>): ClientSecretInfo {
  return {
    id: row.id,
    hint: row.hint,
    created_at: row.created_at.toISOString(),
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
  };
}

/** Stores the digest of a new secret; returns the value once. */
export async function insertClientSecret(
  trx: Db,
  applicationId: string,
  now: Date,
  expiresAt?: Date,
): Promise<IssuedClientSecret> {
  if (expiresAt && expiresAt.getTime() <= now.getTime())
    throw new ValidationError('the secret expiry must be in the future', 'expires_at');
  const value = generateClientSecret();
  const row = await trx
    .insertInto('client_secrets')
    .values({
      id: randomUUID(),
      application_id: applicationId,
      secret_hash: hashClientSecret(value),
      hint: secretHint(value),
      created_at: now,
      expires_at: expiresAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...toSecretInfo(row), value };
}

function grantTypesFor(credential: ClientCredentialKind, redirectUris: readonly string[]): string[] {
  const interactive = redirectUris.length > 0 ? ['authorization_code', 'refresh_token'] : [];
  return credential === 'none' ? interactive : ['client_credentials', ...interactive];
}

export async function createApplication(
  context: DirectoryContext,
  input: CreateApplicationInput,
): Promise<CreatedApplication> {
  assertStorable(input.name, 'name', 256);
  if (input.name.trim() === '') throw new ValidationError('name must not be blank', 'name');
  const credential = input.credential ?? (input.jwks !== undefined ? 'private_key_jwt' : 'client_secret');
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  if (redirectUris.length > 20) throw new ValidationError('at most 20 redirect URIs', 'redirect_uris');
  for (const uri of redirectUris) assertRedirectUri(uri);
  let keys: ClientKey[] | undefined;
  if (credential === 'private_key_jwt') {
    if (input.jwks === undefined) throw new ValidationError('private_key_jwt needs jwks', 'jwks');
    keys = await validateClientJwks(input.jwks);
    if (keys.length === 0) throw new ValidationError('private_key_jwt needs at least one key', 'jwks');
  } else if (input.jwks !== undefined) {
    throw new ValidationError(`jwks is only for private_key_jwt clients, not ${credential}`, 'jwks');
  }
  if (credential === 'none' && redirectUris.length === 0)
    throw new ValidationError('a public client needs at least one redirect URI', 'redirect_uris');
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    const app = await trx
      .insertInto('applications')
      .values({
        id: randomUUID(),
        client_id: randomUUID(),
        name: input.name,
        redirect_uris: JSON.stringify(redirectUris),
        grant_types: JSON.stringify(grantTypesFor(credential, redirectUris)),
        token_endpoint_auth_method: AUTH_METHODS[credential],
        jwks: keys ? JSON.stringify({ keys }) : null,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const sp = await trx
      .insertInto('service_principals')
      .values({ id: randomUUID(), application_id: app.id, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    const secret =
      credential === 'client_secret'
        ? await insertClientSecret(trx, app.id, now, input.secretExpiresAt)
        : undefined;
    const application = toApplication(app, sp);
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'application.create',
        targetType: 'application',
        targetId: app.id,
        after: { ...application, ...(secret ? { client_secret_hint: secret.hint } : {}) },
      },
      now,
    );
    return secret ? { application, client_secret: secret } : { application };
  });
}

export interface FindApplicationOptions {
  includeDeleted?: boolean;
  forUpdate?: boolean;
}

/**
 * An application and its service principal, by application id, client_id or service principal id.
 * Applications whose service principal is deleted are found only when asked.
 */
export async function findApplication(
  db: Db,
  reference: string,
  options: FindApplicationOptions = {},
): Promise<{ app: ApplicationRow; sp: ServicePrincipalRow }> {
  let appQuery = db.selectFrom('applications').selectAll();
  if (isUuid(reference)) {
    const owner = db.selectFrom('service_principals').select('application_id').where('id', '=', reference);
    appQuery = appQuery.where((eb) =>
      eb.or([eb('id', '=', reference), eb('client_id', '=', reference), eb('id', 'in', owner)]),
    );
  } else {
    appQuery = appQuery.where('client_id', '=', reference);
  }
  if (options.forUpdate) appQuery = appQuery.forUpdate();
  const app = await appQuery.executeTakeFirst();
  const sp =
    app &&
    (await db
      .selectFrom('service_principals')
      .selectAll()
      .where('application_id', '=', app.id)
      .$if(!!options.forUpdate, (query) => query.forUpdate())
      .executeTakeFirst());
  if (!app || !sp || (sp.deleted_at && !options.includeDeleted))
    throw new NotFoundError(`no application "${reference}"`);
  return { app, sp };
}

export async function getApplication(db: Db, reference: string, options: FindApplicationOptions = {}) {
  const { app, sp } = await findApplication(db, reference, options);
  return toApplication(app, sp);
}

export interface ApplicationQuery extends PageRequest {
  includeDeleted?: boolean | undefined;
}

/** Ordered by client_id. */
export async function listApplications(db: Db, query: ApplicationQuery = {}): Promise<Page<Application>> {
  const limit = pageSize(query);
  const after = decodeCursor(query.cursor);
  let select = db
    .selectFrom('applications')
    .innerJoin('service_principals', 'service_principals.application_id', 'applications.id')
    .selectAll('applications')
    .select([
      'service_principals.id as sp_id',
      'service_principals.enabled as sp_enabled',
      'service_principals.deleted_at as sp_deleted_at',
      'service_principals.risk_level as sp_risk_level',
      'service_principals.credentials_changed_at as sp_credentials_changed_at',
      'service_principals.sessions_revoked_at as sp_sessions_revoked_at',
      'service_principals.created_at as sp_created_at',
      'service_principals.updated_at as sp_updated_at',
    ]);
  if (after !== undefined) select = select.where('applications.client_id', '>', after);
  if (!query.includeDeleted) select = select.where('service_principals.deleted_at', 'is', null);
  const rows = await select
    .orderBy('applications.client_id')
    .limit(limit + 1)
    .execute();
  return toPage(
    rows,
    limit,
    (row) => row.client_id,
    (row) =>
      toApplication(row, {
        id: row.sp_id,
        application_id: row.id,
        enabled: row.sp_enabled,
        deleted_at: row.sp_deleted_at,
        risk_level: row.sp_risk_level,
        credentials_changed_at: row.sp_credentials_changed_at,
        sessions_revoked_at: row.sp_sessions_revoked_at,
        created_at: row.sp_created_at,
        updated_at: row.sp_updated_at,
      }),
  );
}

export async function listClientSecrets(db: Db, reference: string): Promise<ClientSecretInfo[]> {
  const { app } = await findApplication(db, reference);
  const rows = await db
    .selectFrom('client_secrets')
    .selectAll()
    .where('application_id', '=', app.id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toSecretInfo);
}

/** Renames or replaces redirect URIs (not critical: no security event). */
export async function updateApplication(
  context: DirectoryContext,
  reference: string,
  input: { name?: string | undefined; redirectUris?: readonly string[] | undefined },
): Promise<Application> {
  if (input.name !== undefined) {
    assertStorable(input.name, 'name', 256);
    if (input.name.trim() === '') throw new ValidationError('name must not be blank', 'name');
  }
  const redirectUris = input.redirectUris && [...new Set(input.redirectUris)];
  if (redirectUris && redirectUris.length > 20)
    throw new ValidationError('at most 20 redirect URIs', 'redirect_uris');
  for (const uri of redirectUris ?? []) assertRedirectUri(uri);
  const now = timeOf(context);
  return inTransaction(context.db, async (trx) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const before = toApplication(app, sp);
    const credential = (Object.entries(AUTH_METHODS).find(
      ([, method]) => method === app.token_endpoint_auth_method,
    )?.[0] ?? 'client_secret') as ClientCredentialKind;
    if (credential === 'none' && redirectUris?.length === 0)
      throw new ValidationError('a public client needs at least one redirect URI', 'redirect_uris');
    const updated = await trx
      .updateTable('applications')
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(redirectUris
          ? {
              redirect_uris: JSON.stringify(redirectUris),
              grant_types: JSON.stringify(grantTypesFor(credential, redirectUris)),
            }
          : {}),
      })
      .where('id', '=', app.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = toApplication(updated, sp);
    await writeAudit(
      trx,
      {
        actor: context.actor,
        action: 'application.update',
        targetType: 'application',
        targetId: app.id,
        before,
        after,
      },
      now,
    );
    return after;
  });
}
