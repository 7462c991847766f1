/**
 * Security event types and their bodies: CAEP 1.0, RISC 1.0, SSF 1.0, and OpenCAE's own.
 * Every schema keeps members it does not know (the specs say receivers ignore them).
 */
import { z } from 'zod';
import { EventValidationError } from './errors.js';
import { isPlainObject } from './json.js';

const CAEP_BASE = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC_BASE = 'https://schemas.openid.net/secevent/risc/event-type/';
const SSF_BASE = 'https://schemas.openid.net/secevent/ssf/event-type/';

/** CAEP 1.0 (OpenID Continuous Access Evaluation Profile) event type URIs. */
export const CAEP = {
  sessionRevoked: `${CAEP_BASE}session-revoked`,
  tokenClaimsChange: `${CAEP_BASE}token-claims-change`,
  credentialChange: `${CAEP_BASE}credential-change`,
  assuranceLevelChange: `${CAEP_BASE}assurance-level-change`,
  deviceComplianceChange: `${CAEP_BASE}device-compliance-change`,
  sessionEstablished: `${CAEP_BASE}session-established`,
  sessionPresented: `${CAEP_BASE}session-presented`,
  riskLevelChange: `${CAEP_BASE}risk-level-change`,
} as const;

/** RISC 1.0 (OpenID Risk Incident Sharing and Coordination) event type URIs. */
export const RISC = {
  accountDisabled: `${RISC_BASE}account-disabled`,
  accountEnabled: `${RISC_BASE}account-enabled`,
  accountPurged: `${RISC_BASE}account-purged`,
  accountCredentialChangeRequired: `${RISC_BASE}account-credential-change-required`,
  credentialCompromise: `${RISC_BASE}credential-compromise`,
  identifierChanged: `${RISC_BASE}identifier-changed`,
  identifierRecycled: `${RISC_BASE}identifier-recycled`,
  optIn: `${RISC_BASE}opt-in`,
  optOutInitiated: `${RISC_BASE}opt-out-initiated`,
  optOutCancelled: `${RISC_BASE}opt-out-cancelled`,
  optOutEffective: `${RISC_BASE}opt-out-effective`,
  recoveryActivated: `${RISC_BASE}recovery-activated`,
  recoveryInformationChanged: `${RISC_BASE}recovery-information-changed`,
  sessionsRevoked: `${RISC_BASE}sessions-revoked`,
} as const;

/** SSF 1.0 stream-management event type URIs. */
export const SSF = {
  verification: `${SSF_BASE}verification`,
  streamUpdated: `${SSF_BASE}stream-updated`,
} as const;

/** OpenCAE's own event types (not registered anywhere, hence a URN). */
export const OPENCAE = {
  /** A Conditional Access policy or named location changed; tokens minted under an older version are challenged. */
  policyChanged: 'urn:opencae:secevent:event-type:policy-changed',
} as const;

const numericDate = z.number().finite().nonnegative();
/** A language tag → text map, e.g. `{"en": "Password reset by the administrator"}`. */
const localizedText = z.record(z.string(), z.string());

/** Members CAEP 1.0 §2 defines for every event. */
const caepCommon = {
  event_timestamp: numericDate.optional(),
  initiating_entity: z.enum(['admin', 'user', 'policy', 'system']).optional(),
  reason_admin: localizedText.optional(),
  reason_user: localizedText.optional(),
};

/** Upper-case enum values (CAEP risk levels) accepted in any case, as senders differ. */
function caseInsensitiveEnum<const T extends readonly string[]>(values: T) {
  const allowed = new Set(values.map((v) => v.toUpperCase()));
  return z
    .string()
    .refine((v) => allowed.has(v.toUpperCase()), { message: `expected one of ${values.join(', ')}` });
}

const complianceStatus = z.enum(['compliant', 'not-compliant']);
const riskLevel = caseInsensitiveEnum(['LOW', 'MEDIUM', 'HIGH'] as const);

export const sessionRevokedSchema = z.looseObject({ ...caepCommon });
export const tokenClaimsChangeSchema = z.looseObject({
  ...caepCommon,
  claims: z.record(z.string(), z.unknown()),
});
export const credentialChangeSchema = z.looseObject({
  ...caepCommon,
  // CAEP lists password, pin, x509, fido2-platform, fido2-roaming, fido-u2f, verifiable-credential,
  // phone-voice, phone-sms, app; other values are kept rather than rejected.
  credential_type: z.string().min(1),
  change_type: z.enum(['create', 'revoke', 'update', 'delete']),
  friendly_name: z.string().optional(),
  x509_issuer: z.string().optional(),
  x509_serial: z.string().optional(),
  fido2_aaguid: z.string().optional(),
});
export const assuranceLevelChangeSchema = z.looseObject({
  ...caepCommon,
  namespace: z.string().min(1),
  current_level: z.string().min(1),
  previous_level: z.string().optional(),
  change_direction: z.enum(['increase', 'decrease']).optional(),
});
export const deviceComplianceChangeSchema = z.looseObject({
  ...caepCommon,
  previous_status: complianceStatus,
  current_status: complianceStatus,
});
export const sessionEstablishedSchema = z.looseObject({
  ...caepCommon,
  fp_ua: z.string().optional(),
  acr: z.string().optional(),
  amr: z.array(z.string()).optional(),
  ext_id: z.string().optional(),
});
export const sessionPresentedSchema = z.looseObject({
  ...caepCommon,
  fp_ua: z.string().optional(),
  ext_id: z.string().optional(),
});
export const riskLevelChangeSchema = z.looseObject({
  ...caepCommon,
  risk_reason: z.string().optional(),
  principal: caseInsensitiveEnum(['USER', 'DEVICE', 'SESSION', 'TENANT', 'ORG_UNIT', 'GROUP'] as const),
  current_level: riskLevel,
  previous_level: riskLevel.optional(),
});

/** RISC events share the CAEP-style optional metadata when transmitters send it. */
const riscBody = z.looseObject({ event_timestamp: numericDate.optional() });
export const accountDisabledSchema = z.looseObject({
  event_timestamp: numericDate.optional(),
  // RISC defines "hijacking" and "bulk-account"; other reasons are kept.
  reason: z.string().optional(),
});
export const credentialCompromiseSchema = z.looseObject({
  ...caepCommon,
  credential_type: z.string().min(1),
});
export const identifierChangedSchema = z.looseObject({
  event_timestamp: numericDate.optional(),
  'new-value': z.string().optional(),
});

/** SSF 1.0 §8.1.4.1: `state` echoes the value the receiver asked for. */
export const verificationSchema = z.looseObject({ state: z.string().optional() });
/** SSF 1.0 §8.1.5: the transmitter changed the stream's status. */
export const streamUpdatedSchema = z.looseObject({
  status: z.enum(['enabled', 'paused', 'disabled']),
  reason: z.string().optional(),
});

/** OpenCAE policy-changed: resources challenge tokens minted under an older policy version. */
export const policyChangedSchema = z.looseObject({
  event_timestamp: numericDate,
  policy_version: z.number().int().nonnegative(),
  audiences: z.array(z.string()).optional(),
});

export const eventSchemas: Record<string, z.ZodType> = {
  [CAEP.sessionRevoked]: sessionRevokedSchema,
  [CAEP.tokenClaimsChange]: tokenClaimsChangeSchema,
  [CAEP.credentialChange]: credentialChangeSchema,
  [CAEP.assuranceLevelChange]: assuranceLevelChangeSchema,
  [CAEP.deviceComplianceChange]: deviceComplianceChangeSchema,
  [CAEP.sessionEstablished]: sessionEstablishedSchema,
  [CAEP.sessionPresented]: sessionPresentedSchema,
  [CAEP.riskLevelChange]: riskLevelChangeSchema,
  [RISC.accountDisabled]: accountDisabledSchema,
  [RISC.accountEnabled]: riscBody,
  [RISC.accountPurged]: riscBody,
  [RISC.accountCredentialChangeRequired]: riscBody,
  [RISC.credentialCompromise]: credentialCompromiseSchema,
  [RISC.identifierChanged]: identifierChangedSchema,
  [RISC.identifierRecycled]: riscBody,
  [RISC.optIn]: riscBody,
  [RISC.optOutInitiated]: riscBody,
  [RISC.optOutCancelled]: riscBody,
  [RISC.optOutEffective]: riscBody,
  [RISC.recoveryActivated]: riscBody,
  [RISC.recoveryInformationChanged]: riscBody,
  [RISC.sessionsRevoked]: riscBody,
  [SSF.verification]: verificationSchema,
  [SSF.streamUpdated]: streamUpdatedSchema,
  [OPENCAE.policyChanged]: policyChangedSchema,
};

export type CredentialChangeEvent = z.infer<typeof credentialChangeSchema>;
export type RiskLevelChangeEvent = z.infer<typeof riskLevelChangeSchema>;
export type StreamUpdatedEvent = z.infer<typeof streamUpdatedSchema>;
export type PolicyChangedEvent = z.infer<typeof policyChangedSchema>;

/**
 * Validates an event body against its type's schema. Unknown types are passed through
 * (`known: false`); a known type with a wrong body throws EventValidationError (`ERR_EVENT_INVALID`).
 */
export function parseEvent(type: string, body: unknown): { known: boolean; event: Record<string, unknown> } {
  const schema = Object.hasOwn(eventSchemas, type) ? eventSchemas[type] : undefined;
  if (schema === undefined) {
    if (!isPlainObject(body)) throw new EventValidationError(type, `event ${type} must be a JSON object`);
    return { known: false, event: body };
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new EventValidationError(type, `event ${type} is invalid: ${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return { known: true, event: result.data as Record<string, unknown> };
}
