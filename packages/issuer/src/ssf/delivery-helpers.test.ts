import { RISC } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';
import { deliveriesPayload, parseDeliveriesPayload } from './channels.js';
import { EVENTS_SUPPORTED, eventsDelivered } from './event-types.js';
import { streamIncludesSubject, subjectKey } from './subjects.js';

describe('retryDelayMs', () => {
  const options = { baseDelayMs: 1000, maxDelayMs: 60_000 };
  it('doubles per attempt between half and all of the delay, capped', () => {
    expect(retryDelayMs(1, options, () => 0)).toBe(500);
    expect(retryDelayMs(1, options, () => 1)).toBe(1000);
    expect(retryDelayMs(4, options, () => 0.5)).toBe(6000);
    expect(retryDelayMs(30, options, () => 1)).toBe(60_000);
  });
});

describe('stream subjects (default ALL)', () => {
  const alice = { format: 'iss_sub' as const, iss: 'https://i', sub: 'alice' };
  const aliceAliases = {
    format: 'aliases' as const,
    identifiers: [alice, { format: 'email' as const, email: 'Alice@Example.com' }],
  };
  const aliceSession = {
    format: 'complex' as const,
    user: alice,
    session: { format: 'opaque' as const, id: 's1' },
  };

  it('includes everyone unless removed; an added rule wins', () => {
    expect(streamIncludesSubject([], alice)).toBe(true);
    const removed = [
      { subject: { format: 'email' as const, email: 'alice@example.com' }, mode: 'removed' as const },
    ];
    expect(streamIncludesSubject(removed, aliceAliases)).toBe(false);
    expect(streamIncludesSubject([{ subject: alice, mode: 'removed' }], aliceSession)).toBe(false);
    expect(streamIncludesSubject([...removed, { subject: alice, mode: 'added' }], aliceAliases)).toBe(true);
  });

  it('keys subjects canonically', () => {
    expect(subjectKey({ sub: 'alice', iss: 'https://i', format: 'iss_sub' })).toBe(subjectKey(alice));
  });
});

describe('events_delivered', () => {
  it('is the intersection with supported types; unknown ones are ignored; absent = all', () => {
    expect(eventsDelivered([RISC.accountDisabled, 'urn:x:unknown'])).toEqual([RISC.accountDisabled]);
    expect(eventsDelivered(null)).toEqual([...EVENTS_SUPPORTED]);
    expect(eventsDelivered([])).toEqual([]);
  });
});

describe('deliveries NOTIFY payload', () => {
  it('round-trips, and falls back to waking everyone', () => {
    expect(parseDeliveriesPayload(deliveriesPayload('new', ['a', 'b', 'a']))).toEqual({
      kind: 'new',
      streams: 'a,b',
    });
    const many = Array.from({ length: 150 }, (_, i) => `s${i}`);
    expect(parseDeliveriesPayload(deliveriesPayload('released', many))).toEqual({
      kind: 'released',
      streams: '*',
    });
    expect(parseDeliveriesPayload('garbage')).toEqual({ kind: 'released', streams: '*' });
  });
});
