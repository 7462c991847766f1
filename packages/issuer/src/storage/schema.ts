/** Row types of the issuer's tables (see migrations/); Kysely checks every query against them. */
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, T | string, T | string>;

export type RiskLevel = 'none' | 'low' | 'medium' | 'high';
export type UserKind = 'member' | 'guest';

export interface SettingsTable {
  key: string;
  value: Json<object>;
}

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  kind: UserKind;
  password_hash: string | null;
  enabled: Generated<boolean>;
  deleted_at: NullableTimestamp;
  mfa_required: Generated<boolean>;
  totp_secret: string | null;
  totp_enrolled_at: NullableTimestamp;
  risk_level: Generated<RiskLevel>;
  credentials_changed_at: NullableTimestamp;
  sessions_revoked_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupsTable {
  id: string;
  name: string;
  description: Generated<string>;
  created_at: Timestamp;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
}

export interface ApplicationsTable {
  id: string;
  client_id: string;
  name: string;
  redirect_uris: Json<string[]>;
  grant_types: Json<string[]>;
  token_endpoint_auth_method: Generated<string>;
  jwks: Json<{ keys: Record<string, unknown>[] }> | null;
  created_at: Timestamp;
}

export interface ServicePrincipalsTable {
  id: string;
  application_id: string;
  enabled: Generated<boolean>;
  deleted_at: NullableTimestamp;
  risk_level: Generated<RiskLevel>;
  credentials_changed_at: NullableTimestamp;
  sessions_revoked_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ClientSecretsTable {
  id: string;
  application_id: string;
  secret_hash: string;
  hint: string;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface ApisTable {
  id: string;
  audience: string;
  name: string;
  cae_enabled: Generated<boolean>;
  scopes: Json<string[]>;
  app_roles: Json<string[]>;
  built_in: Generated<boolean>;
  created_at: Timestamp;
}

export interface ApiGrantsTable {
  application_id: string;
  api_id: string;
  scopes: Json<string[]>;
  roles: Json<string[]>;
}

export interface OidcModelsTable {
  model: string;
  id: string;
  payload: Json<Record<string, unknown>>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  account_id: string | null;
  client_id: string | null;
  session_uid: string | null;
  expires_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: Json<Record<string, unknown>>;
  public_jwk: Json<Record<string, unknown>>;
  created_at: Timestamp;
  retired_at: NullableTimestamp;
  unpublish_after: NullableTimestamp;
  /** Null while the key is the pre-published next key (009_signing_key_next). */
  activated_at: NullableTimestamp;
}

export type PrincipalType = 'user' | 'service_principal' | 'policy' | 'stream';

export interface SecurityEventsTable {
  id: Generated<string>;
  txn: string;
  event_type: string;
  subject: Json<Record<string, unknown>>;
  event: Json<Record<string, unknown>>;
  principal_type: PrincipalType;
  principal_id: string;
  occurred_at: Timestamp;
  dispatched_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: Json<object> | null;
  after: Json<object> | null;
  txn: string | null;
}

export type SsfDeliveryMethod = 'urn:ietf:rfc:8935' | 'urn:ietf:rfc:8936';
export type SsfStreamStatus = 'enabled' | 'paused' | 'disabled';
export type SsfDeliveryState = 'pending' | 'delivered' | 'acknowledged' | 'failed' | 'dead_letter';

export interface SsfStreamsTable {
  id: string;
  owner_client_id: string;
  aud: string;
  events_requested: Json<string[]> | null;
  events_delivered: Json<string[]>;
  delivery_method: SsfDeliveryMethod;
  endpoint_url: string;
  authorization_header: string | null;
  status: Generated<SsfStreamStatus>;
  status_reason: string | null;
  min_verification_interval: number;
  last_verification_at: NullableTimestamp;
  description: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SsfStreamSubjectsTable {
  stream_id: string;
  subject_key: string;
  subject: Json<Record<string, unknown>>;
  mode: 'added' | 'removed';
  verified: boolean | null;
  updated_at: Timestamp;
}

export interface SsfDeliveriesTable {
  id: Generated<string>;
  stream_id: string;
  security_event_id: string;
  jti: string;
  event_type: string;
  control: Generated<boolean>;
  set_jwt: string;
  state: Generated<SsfDeliveryState>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Timestamp;
  delivered_at: NullableTimestamp;
  acked_at: NullableTimestamp;
}

export interface Database {
  settings: SettingsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  applications: ApplicationsTable;
  service_principals: ServicePrincipalsTable;
  client_secrets: ClientSecretsTable;
  apis: ApisTable;
  api_grants: ApiGrantsTable;
  oidc_models: OidcModelsTable;
  signing_keys: SigningKeysTable;
  security_events: SecurityEventsTable;
  audit_log: AuditLogTable;
  ssf_streams: SsfStreamsTable;
  ssf_stream_subjects: SsfStreamSubjectsTable;
  ssf_deliveries: SsfDeliveriesTable;
}

// Conditional Access (migration 005_conditional_access), merged into Database.
export interface CaNamedLocationsTable {
  id: string;
  name: string;
  trusted: Generated<boolean>;
  ranges: Json<string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CaPoliciesTable {
  id: string;
  name: string;
  state: 'enabled' | 'reportOnly' | 'disabled';
  /** The validated policy definition (see conditional-access/policy.ts), without id. */
  definition: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CaPolicyChangesTable {
  /** bigint: the driver returns it as a string. */
  version: ColumnType<string, number | string, never>;
  /** Audiences the change affects; null = every audience. */
  audiences: Json<string[]> | null;
  changed_at: Timestamp;
}

export interface Database {
  ca_named_locations: CaNamedLocationsTable;
  ca_policies: CaPoliciesTable;
  ca_policy_changes: CaPolicyChangesTable;
}

// Sign-in log (migration 006_logs), merged into Database.
export type SignInPrincipalType = 'user' | 'guest' | 'service_principal';
export type SignInResult = 'success' | 'failure';

export interface SignInLogTable {
  /** bigint: the driver returns it as a string. */
  id: ColumnType<string, never, never>;
  time: Timestamp;
  principal_type: SignInPrincipalType | null;
  principal_id: string | null;
  principal_name: string | null;
  client_id: string | null;
  app_name: string | null;
  api_audience: string | null;
  grant_type: string | null;
  issuer_ip: string | null;
  resource_ip: string | null;
  client_capabilities: Json<string[]>;
  cae_token: boolean;
  lifetime_seconds: number | null;
  conditional_access: Json<Record<string, unknown>[]>;
  result: SignInResult;
  error_code: string | null;
  failure_reason: string | null;
  correlation_id: string | null;
}

export interface Database {
  sign_in_log: SignInLogTable;
}

// Sign-in lockouts (migration 008_sign_in_lockouts), merged into Database.
export interface SignInLockoutsTable {
  key: string;
  failures: number;
  last_failure_at: Timestamp;
  locked_until: NullableTimestamp;
}

export interface Database {
  sign_in_lockouts: SignInLockoutsTable;
}
