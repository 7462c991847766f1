/**
 * The security events a directory change causes (DESIGN.md mapping table), as outbox rows: subject
 * identifiers per RFC 9493 / SSF and event bodies per CAEP 1.0 and RISC 1.0. The transmitter signs and
 * delivers them; this module only decides what they say.
 */
import { CAEP, RISC, type SubjectIdentifier } from '@opencae/protocol';
import type { SecurityEventInput } from '../events/outbox.js';
import type { RiskLevel } from '../storage/schema.js';

/** The account an event is about: a user or a service principal (its id is the tokens' `oid`/`sub`). */
export interface EventPrincipal {
  type: 'user' | 'service_principal';
  id: string;
  email?: string | null;
}

/** `iss_sub`, plus the email as an alias when the user has one (receivers may key on either). */
export function principalSubject(issuer: string, principal: EventPrincipal): SubjectIdentifier {
  const issSub = { format: 'iss_sub' as const, iss: issuer, sub: principal.id };
  if (!principal.email) return issSub;
  return { format: 'aliases', identifiers: [issSub, { format: 'email', email: principal.email }] };
}

/** One session of a user (`sid` of its tokens), for session-scoped revocation. */
export function sessionSubject(issuer: string, userId: string, sessionId: string): SubjectIdentifier {
  return {
    format: 'complex',
    user: { format: 'iss_sub', iss: issuer, sub: userId },
    session: { format: 'opaque', id: sessionId },
  };
}

export type CredentialType = 'password' | 'client_secret' | 'x509' | 'app';
export type ChangeType = 'create' | 'revoke' | 'update' | 'delete';
/** Who caused the change (CAEP `initiating_entity`). */
export type InitiatingEntity = 'admin' | 'user' | 'policy' | 'system';

interface Cause {
  issuer: string;
  principal: EventPrincipal;
  /** Time of the change: the `event_timestamp`. */
  at: Date;
  /** Human-readable reason for administrators (`reason_admin`, required by the CAEP interop profile). */
  reason: string;
  initiatingEntity?: InitiatingEntity;
}

function common(cause: Cause): Record<string, unknown> {
  return {
    event_timestamp: Math.floor(cause.at.getTime() / 1000),
    initiating_entity: cause.initiatingEntity ?? 'admin',
    reason_admin: { en: cause.reason },
  };
}

function event(cause: Cause, eventType: string, body: Record<string, unknown>): SecurityEventInput {
  return {
    eventType,
    subject: principalSubject(cause.issuer, cause.principal),
    event: { ...common(cause), ...body },
    principalType: cause.principal.type,
    principalId: cause.principal.id,
  };
}

export function accountDisabledEvent(cause: Cause): SecurityEventInput {
  return event(cause, RISC.accountDisabled, {});
}

export function accountEnabledEvent(cause: Cause): SecurityEventInput {
  return event(cause, RISC.accountEnabled, {});
}

export function accountPurgedEvent(cause: Cause): SecurityEventInput {
  return event(cause, RISC.accountPurged, {});
}

export function credentialChangeEvent(
  cause: Cause,
  change: { credentialType: CredentialType; changeType: ChangeType; friendlyName?: string },
): SecurityEventInput {
  return event(cause, CAEP.credentialChange, {
    credential_type: change.credentialType,
    change_type: change.changeType,
    ...(change.friendlyName ? { friendly_name: change.friendlyName } : {}),
  });
}

export function sessionRevokedEvent(cause: Cause, sessionId?: string): SecurityEventInput {
  const revoked = event(cause, CAEP.sessionRevoked, {});
  if (sessionId && cause.principal.type === 'user')
    revoked.subject = sessionSubject(cause.issuer, cause.principal.id, sessionId);
  return revoked;
}

/**
 * CAEP levels are LOW | MEDIUM | HIGH; the directory's `none` (no risk detected) is sent as LOW, the
 * lowest level the profile can express.
 */
export function caepRiskLevel(level: RiskLevel): 'LOW' | 'MEDIUM' | 'HIGH' {
  return level === 'high' ? 'HIGH' : level === 'medium' ? 'MEDIUM' : 'LOW';
}

export function riskLevelChangeEvent(
  cause: Cause,
  change: { current: RiskLevel; previous: RiskLevel },
): SecurityEventInput {
  return event(cause, CAEP.riskLevelChange, {
    // A service principal is a "robotic user" in CAEP's terms.
    principal: 'USER',
    current_level: caepRiskLevel(change.current),
    previous_level: caepRiskLevel(change.previous),
    risk_reason: cause.reason,
  });
}
