/**
 * Read-only queries of the directory tables the token service needs at every request. The directory
 * module owns these tables; the token service only reads them (TOTP enrollment aside, see totp-store).
 */
import { randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { ADMINISTRATORS_GROUP } from '../built-in-apis.js';
import { SecretBox } from '../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import type { Db } from '../storage/database.js';
import type { RiskLevel, UserKind, UsersTable } from '../storage/schema.js';

export interface UserState {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  /** Member or guest (the sign-in log and Conditional Access tell them apart). */
  kind: UserKind;
  passwordHash: string | null;
  enabled: boolean;
  deletedAt: Date | null;
  mfaRequired: boolean;
  totpSecret: string | null;
  totpEnrolledAt: Date | null;
  riskLevel: RiskLevel;
  credentialsChangedAt: Date | null;
  sessionsRevokedAt: Date | null;
}

export interface ApplicationState {
  applicationId: string;
  clientId: string;
  name: string;
  redirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: string;
  jwks: { keys: Record<string, unknown>[] } | null;
  /** The service principal: the application's identity in this tenant (`oid` of app tokens). */
  servicePrincipal: {
    id: string;
    enabled: boolean;
    deletedAt: Date | null;
    riskLevel: RiskLevel;
    credentialsChangedAt: Date | null;
    sessionsRevokedAt: Date | null;
  } | null;
  /** Stored digests of the client's secrets (read with the application: one round trip). */
  secrets: ClientSecretRow[];
}

export interface ClientSecretRow {
  id: string;
  secretHash: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiState {
  id: string;
  audience: string;
  caeEnabled: boolean;
  scopes: string[];
  appRoles: string[];
}

export interface ApiGrant {
  scopes: string[];
  roles: string[];
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

export class DirectoryReader {
  private tenantId: string | undefined;

  /** `secrets` decrypts the TOTP secrets (stored encrypted when a key ring is configured). */
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox = SecretBox.plaintext(),
  ) {}

  async userById(id: string): Promise<UserState | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row, this.secrets) : undefined;
  }

  async userByUsername(username: string): Promise<UserState | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row ? toUser(row, this.secrets) : undefined;
  }

  async applicationByClientId(clientId: string): Promise<ApplicationState | undefined> {
    const row = await this.db
      .selectFrom('applications as a')
      .leftJoin('service_principals as sp', 'sp.application_id', 'a.id')
      .select([
        'a.id as application_id',
        'a.client_id',
        'a.name',
        'a.redirect_uris',
        'a.grant_types',
        'a.token_endpoint_auth_method',
        'a.jwks',
        'sp.id as sp_id',
        'sp.enabled as sp_enabled',
        'sp.deleted_at as sp_deleted_at',
        'sp.risk_level as sp_risk_level',
        'sp.credentials_changed_at as sp_credentials_changed_at',
        'sp.sessions_revoked_at as sp_sessions_revoked_at',
        sql<unknown>`(select coalesce(json_agg(json_build_object('id', cs.id, 'secret_hash', cs.secret_hash, 'expires_at', cs.expires_at, 'revoked_at', cs.revoked_at)), '[]'::json) from client_secrets cs where cs.application_id = a.id)`.as(
          'secrets',
        ),
      ])
      .where('a.client_id', '=', clientId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      applicationId: row.application_id,
      clientId: row.client_id,
      name: row.name,
      redirectUris: json<string[]>(row.redirect_uris),
      grantTypes: json<string[]>(row.grant_types),
      tokenEndpointAuthMethod: row.token_endpoint_auth_method,
      jwks: row.jwks ? json<{ keys: Record<string, unknown>[] }>(row.jwks) : null,
      servicePrincipal: row.sp_id
        ? {
            id: row.sp_id,
            enabled: row.sp_enabled ?? false,
            deletedAt: row.sp_deleted_at ?? null,
            riskLevel: (row.sp_risk_level ?? 'none') as RiskLevel,
            credentialsChangedAt: row.sp_credentials_changed_at ?? null,
            sessionsRevokedAt: row.sp_sessions_revoked_at ?? null,
          }
        : null,
      secrets: json<
        { id: string; secret_hash: string; expires_at: string | null; revoked_at: string | null }[]
      >(row.secrets).map((secret) => ({
        id: secret.id,
        secretHash: secret.secret_hash,
        expiresAt: secret.expires_at ? new Date(secret.expires_at) : null,
        revokedAt: secret.revoked_at ? new Date(secret.revoked_at) : null,
      })),
    };
  }

  async clientSecrets(applicationId: string): Promise<ClientSecretRow[]> {
    const rows = await this.db
      .selectFrom('client_secrets')
      .select(['id', 'secret_hash', 'expires_at', 'revoked_at'])
      .where('application_id', '=', applicationId)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      secretHash: row.secret_hash,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
    }));
  }

  /** The API registered for an audience, with what the application was granted on it (if anything). */
  async apiWithGrant(
    audience: string,
    applicationId: string,
  ): Promise<{ api: ApiState; grant: ApiGrant | undefined } | undefined> {
    const row = await this.db
      .selectFrom('apis')
      .leftJoin('api_grants as g', (join) =>
        join.onRef('g.api_id', '=', 'apis.id').on('g.application_id', '=', applicationId),
      )
      .select([
        'apis.id',
        'apis.audience',
        'apis.cae_enabled',
        'apis.scopes',
        'apis.app_roles',
        'g.scopes as granted_scopes',
        'g.roles as granted_roles',
      ])
      .where('apis.audience', '=', audience)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      api: {
        id: row.id,
        audience: row.audience,
        caeEnabled: row.cae_enabled,
        scopes: json<string[]>(row.scopes),
        appRoles: json<string[]>(row.app_roles),
      },
      grant:
        row.granted_scopes === null || row.granted_roles === null
          ? undefined
          : { scopes: json<string[]>(row.granted_scopes), roles: json<string[]>(row.granted_roles) },
    };
  }

  /** Whether the user is a member of the built-in administrators group. */
  async isAdministrator(userId: string): Promise<boolean> {
    if (!isUuid(userId)) return false;
    const row = await this.db
      .selectFrom('group_members as m')
      .innerJoin('groups as g', 'g.id', 'm.group_id')
      .select('m.user_id')
      .where('m.user_id', '=', userId)
      .where('g.name', '=', ADMINISTRATORS_GROUP)
      .executeTakeFirst();
    return row !== undefined;
  }

  async apiAudienceExists(audience: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('apis')
      .select('id')
      .where('audience', '=', audience)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The tenant id (`tid`); created here when the directory bootstrap has not run yet. */
  async tenant(): Promise<string> {
    this.tenantId ??= await this.readTenant();
    return this.tenantId;
  }

  protected async readTenant(): Promise<string> {
    // Read first: a write, even one that changes nothing, notifies every replica's directory cache.
    const existing = await this.selectTenant();
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('settings')
      .values({ key: 'tenant_id', value: JSON.stringify(randomUUID()) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const created = await this.selectTenant();
    if (created === undefined) throw new Error('the tenant_id setting could not be created');
    return created;
  }

  private async selectTenant(): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'tenant_id')
      .executeTakeFirst();
    if (!row) return undefined;
    // jsonb comes back decoded: the tenant id is a JSON string (or an object with an id).
    const value = row.value as unknown;
    const id = typeof value === 'string' ? value : (value as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') throw new Error('the tenant_id setting is not a string');
    return id;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function toUser(row: Selectable<UsersTable>, secrets: SecretBox): UserState {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    email: row.email,
    kind: row.kind,
    passwordHash: row.password_hash,
    enabled: row.enabled,
    deletedAt: row.deleted_at,
    mfaRequired: row.mfa_required,
    totpSecret: secrets.openNullable(SECRET_COLUMNS.totpSecret, row.totp_secret),
    totpEnrolledAt: row.totp_enrolled_at,
    riskLevel: row.risk_level,
    credentialsChangedAt: row.credentials_changed_at,
    sessionsRevokedAt: row.sessions_revoked_at,
  };
}
