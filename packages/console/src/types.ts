/** Shapes of the admin API answers the console reads (see the issuer's admin routes). */
export type RiskLevel = 'none' | 'low' | 'medium' | 'high';

export interface User {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  kind: 'member' | 'guest';
  enabled: boolean;
  deleted_at: string | null;
  mfa_required: boolean;
  mfa_enrolled: boolean;
  risk_level: RiskLevel;
  sessions_revoked_at: string | null;
  created_at: string;
}

export interface Group {
  id: string;
  name: string;
  description: string;
  created_at: string;
}

export interface Application {
  id: string;
  client_id: string;
  name: string;
  redirect_uris: string[];
  grant_types: string[];
  token_endpoint_auth_method: string;
  certificates: { kid: string; kty: string }[];
  service_principal: { id: string; enabled: boolean; deleted_at: string | null; risk_level: RiskLevel };
  created_at: string;
}

export interface ClientSecret {
  id: string;
  hint: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  value?: string;
}

export interface Grant {
  client_id: string;
  audience: string;
  scopes: string[];
  roles: string[];
}

export interface Api {
  id: string;
  audience: string;
  name: string;
  cae_enabled: boolean;
  scopes: string[];
  app_roles: string[];
  built_in: boolean;
}

export interface NamedLocation {
  id: string;
  name: string;
  trusted: boolean;
  ranges: string[];
}

export interface Policy {
  id: string;
  name: string;
  description: string;
  state: 'enabled' | 'reportOnly' | 'disabled';
  assignments: {
    users: { include: string[]; exclude: string[] };
    groups: { include: string[]; exclude: string[] };
    servicePrincipals: { include: string[]; exclude: string[] };
  };
  targetApis: { include: string[]; exclude: string[] };
  conditions: {
    locations?: { include: string[]; exclude: string[] };
    userRiskLevels?: RiskLevel[];
    servicePrincipalRiskLevels?: RiskLevel[];
    clientCapability?: 'cp1Declared' | 'cp1NotDeclared';
  };
  grantControls: { block: boolean; requireMfa: boolean };
  sessionControls: { caeMode: 'default' | 'strictLocation' | 'disabled' };
}

export interface SignIn {
  id: string;
  time: string;
  principal: { type: 'user' | 'guest' | 'service_principal'; id: string | null; name: string | null } | null;
  app: { client_id: string; name: string | null } | null;
  api_audience: string | null;
  grant_type: string | null;
  issuer_ip: string | null;
  resource_ip: string | null;
  client_capabilities: string[];
  cae_token: boolean;
  lifetime_seconds: number | null;
  conditional_access: Record<string, unknown>[];
  result: 'success' | 'failure';
  error_code: string | null;
  failure_reason: string | null;
  correlation_id: string | null;
}

export type DeliveryState = 'pending' | 'delivered' | 'acknowledged' | 'failed' | 'dead_letter';

export interface EventDelivery {
  stream_id: string;
  stream: string;
  state: DeliveryState;
  attempts: number;
  delivered_at: string | null;
  acked_at: string | null;
  propagation_ms: number | null;
  last_error: string | null;
}

export interface SecurityEvent {
  id: string;
  txn: string;
  event_type: string;
  principal_type: string;
  principal_id: string;
  principal_name: string | null;
  occurred_at: string;
  deliveries: EventDelivery[];
}

export interface StreamHealth {
  id: string;
  name: string;
  delivery_method: string;
  status: 'enabled' | 'paused' | 'disabled';
  health: 'healthy' | 'lagging' | 'failing' | 'paused' | 'disabled' | 'idle';
  deliveries: Partial<Record<DeliveryState, number>>;
  lag_seconds: number;
  last_delivered_at: string | null;
  median_propagation_ms: number | null;
}

export interface Overview {
  generated_at: string;
  recent_events: SecurityEvent[];
  streams: StreamHealth[];
  sign_ins: { last_24h: { success: number; failure: number; cae: number } };
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  txn: string | null;
}

/** The short name of a CAEP / RISC / OpenCAE event type URI. */
export function eventName(type: string): string {
  return type.slice(type.lastIndexOf('/') + 1);
}
