import { describe, expect, it } from 'vitest';
import { EventValidationError, OpenCaeError } from './errors.js';
import { CAEP, eventSchemas, OPENCAE, parseEvent, RISC, SSF } from './events.js';

describe('event type URIs', () => {
  it('use the CAEP 1.0, RISC 1.0 and SSF 1.0 URIs exactly', () => {
    expect(CAEP.sessionRevoked).toBe('https://schemas.openid.net/secevent/caep/event-type/session-revoked');
    expect(CAEP.tokenClaimsChange).toBe(
      'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
    );
    expect(CAEP.riskLevelChange).toBe(
      'https://schemas.openid.net/secevent/caep/event-type/risk-level-change',
    );
    expect(RISC.accountDisabled).toBe('https://schemas.openid.net/secevent/risc/event-type/account-disabled');
    expect(RISC.accountCredentialChangeRequired).toBe(
      'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required',
    );
    expect(RISC.optOutInitiated).toBe(
      'https://schemas.openid.net/secevent/risc/event-type/opt-out-initiated',
    );
    expect(SSF.verification).toBe('https://schemas.openid.net/secevent/ssf/event-type/verification');
    expect(SSF.streamUpdated).toBe('https://schemas.openid.net/secevent/ssf/event-type/stream-updated');
    expect(OPENCAE.policyChanged).toBe('urn:opencae:secevent:event-type:policy-changed');
  });

  it('have a schema for every type', () => {
    for (const uri of [
      ...Object.values(CAEP),
      ...Object.values(RISC),
      ...Object.values(SSF),
      OPENCAE.policyChanged,
    ]) {
      expect(eventSchemas[uri], uri).toBeDefined();
    }
    expect(Object.keys(eventSchemas)).toHaveLength(8 + 14 + 2 + 1);
  });
});

describe('parseEvent', () => {
  it.each([
    [
      CAEP.sessionRevoked,
      { initiating_entity: 'policy', reason_admin: { en: 'Landspeed Policy Violation: C076E82F' } },
    ],
    [CAEP.tokenClaimsChange, { event_timestamp: 1615304991, claims: { role: 'ro-admin' } }],
    [
      CAEP.credentialChange,
      { credential_type: 'fido2-roaming', change_type: 'create', fido2_aaguid: 'accced...' },
    ],
    [
      CAEP.assuranceLevelChange,
      { namespace: 'NIST-AAL', current_level: 'nist-aal2', change_direction: 'increase' },
    ],
    [CAEP.deviceComplianceChange, { previous_status: 'compliant', current_status: 'not-compliant' }],
    [CAEP.sessionEstablished, { fp_ua: 'abc', acr: 'AAL2', amr: ['otp'] }],
    [CAEP.sessionPresented, { fp_ua: 'abc', ext_id: '12345' }],
    [
      CAEP.riskLevelChange,
      {
        principal: 'USER',
        current_level: 'HIGH',
        previous_level: 'low',
        risk_reason: 'PASSWORD_FOUND_IN_DATA_BREACH',
      },
    ],
    [RISC.accountDisabled, { reason: 'hijacking' }],
    [RISC.accountPurged, {}],
    [RISC.credentialCompromise, { credential_type: 'password', event_timestamp: 1 }],
    [RISC.identifierChanged, { 'new-value': 'john.roe@example.com' }],
    [SSF.verification, { state: 'VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo=' }],
    [SSF.streamUpdated, { status: 'paused', reason: 'maintenance' }],
    [OPENCAE.policyChanged, { event_timestamp: 1_700_000_000, policy_version: 7, audiences: ['api://a'] }],
  ])('accepts a valid %s body, keeping unknown members', (type, body) => {
    const withExtra = { ...body, x_vendor_field: { nested: true } };
    expect(parseEvent(type, withExtra)).toEqual({ known: true, event: withExtra });
  });

  it.each([
    [CAEP.tokenClaimsChange, {}],
    [CAEP.credentialChange, { credential_type: 'password', change_type: 'rotate' }],
    [CAEP.credentialChange, { change_type: 'create' }],
    [CAEP.assuranceLevelChange, { current_level: 'nist-aal2' }],
    [CAEP.deviceComplianceChange, { previous_status: 'compliant', current_status: 'unknown' }],
    [CAEP.riskLevelChange, { principal: 'USER', current_level: 'EXTREME' }],
    [CAEP.sessionRevoked, { initiating_entity: 'robot' }],
    [CAEP.sessionRevoked, { event_timestamp: 'yesterday' }],
    [SSF.streamUpdated, { status: 'on' }],
    [OPENCAE.policyChanged, { event_timestamp: 1, policy_version: 1.5 }],
    [OPENCAE.policyChanged, { policy_version: 1 }],
    [RISC.accountEnabled, 'enabled'],
    [CAEP.sessionRevoked, null],
  ])('rejects an invalid %s body with ERR_EVENT_INVALID', (type, body) => {
    let error: unknown;
    try {
      parseEvent(type, body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toBeInstanceOf(OpenCaeError);
    expect((error as EventValidationError).code).toBe('ERR_EVENT_INVALID');
    expect((error as EventValidationError).eventType).toBe(type);
  });

  it('passes unknown event types through as known: false', () => {
    expect(parseEvent('https://vendor.example.com/event/custom', { a: 1 })).toEqual({
      known: false,
      event: { a: 1 },
    });
    expect(parseEvent('__proto__', { a: 1 }).known).toBe(false);
    expect(() => parseEvent('https://vendor.example.com/event/custom', [1])).toThrow(EventValidationError);
  });
});
