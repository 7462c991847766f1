import { CAEP, RISC } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import { revocationChanges } from './event-changes.js';

const T = 1_800_000_000;

describe('revocationChanges', () => {
  it.each([
    [CAEP.sessionRevoked, {}, { revokeBefore: T }],
    [CAEP.credentialChange, { credential_type: 'password', change_type: 'update' }, { revokeBefore: T }],
    [RISC.accountDisabled, {}, { revokeBefore: T, disabled: true }],
    [RISC.accountPurged, {}, { revokeBefore: T, disabled: true }],
    [RISC.accountEnabled, {}, { disabled: false }],
    [
      CAEP.riskLevelChange,
      { current_level: 'HIGH', principal: 'USER' },
      { revokeBefore: T, riskLevel: 'high' },
    ],
    [CAEP.riskLevelChange, { current_level: 'low', principal: 'USER' }, { riskLevel: 'low' }],
  ])('maps %s', (type, body, expected) => {
    const [change] = revocationChanges(type, { event_timestamp: T, ...body }, ['p:u'], T + 5);
    expect(change).toEqual({ key: 'p:u', at: T, ...expected });
  });

  it('uses the SET iat when the event has no timestamp', () => {
    expect(revocationChanges(CAEP.sessionRevoked, {}, ['s:1'], T)).toEqual([
      { key: 's:1', at: T, revokeBefore: T },
    ]);
  });

  it('changes nothing for events that do not revoke, or without subject keys', () => {
    expect(revocationChanges(CAEP.sessionEstablished, { event_timestamp: T }, ['p:u'], T)).toEqual([]);
    expect(revocationChanges('urn:example:unknown', {}, ['p:u'], T)).toEqual([]);
    expect(revocationChanges(CAEP.sessionRevoked, {}, [], T)).toEqual([]);
  });
});
