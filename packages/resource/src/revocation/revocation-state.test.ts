import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RevocationChange, RevocationState } from './revocation-state.js';

const NOW = 1_800_000_000;
const DAY = 86_400;

describe('RevocationState', () => {
  it('keeps the latest revocation time per key', () => {
    const state = new RevocationState(DAY);
    state.apply({ key: 'p:a', at: NOW - 10, revokeBefore: NOW - 10 }, NOW);
    state.apply({ key: 'p:a', at: NOW - 20, revokeBefore: NOW - 20 }, NOW);
    expect(state.revokedBefore('p:a')).toBe(NOW - 10);
    expect(state.revokedBefore('p:b')).toBe(0);
  });

  it('orders disable and enable by event time, whatever the arrival order, and enabling keeps revokedBefore', () => {
    const state = new RevocationState(DAY);
    state.apply({ key: 'p:a', at: NOW - 5, disabled: false }, NOW);
    state.apply({ key: 'p:a', at: NOW - 10, disabled: true, revokeBefore: NOW - 10 }, NOW);
    expect(state.disabledSince('p:a')).toBe(0);
    expect(state.revokedBefore('p:a')).toBe(NOW - 10);
    state.apply({ key: 'p:a', at: NOW - 1, disabled: true }, NOW);
    expect(state.disabledSince('p:a')).toBe(NOW - 1);
    expect(state.get('p:a')).toMatchObject({ disabled: true, disabledChangedAt: NOW - 1 });
  });

  it('records the latest risk level', () => {
    const state = new RevocationState(DAY);
    state.apply({ key: 'p:a', at: NOW - 5, riskLevel: 'HIGH' }, NOW);
    state.apply({ key: 'p:a', at: NOW - 9, riskLevel: 'low' }, NOW);
    expect(state.get('p:a')?.riskLevel).toBe('high');
  });

  it('ignores changes older than the retention and prunes entries that reach it', () => {
    const state = new RevocationState(DAY);
    expect(state.apply({ key: 'p:old', at: NOW - 2 * DAY, revokeBefore: NOW - 2 * DAY }, NOW)).toBe(false);
    state.apply({ key: 'p:a', at: NOW, revokeBefore: NOW, disabled: true, riskLevel: 'high' }, NOW);
    expect(state.prune(NOW + DAY - 1)).toBe(0);
    expect(state.prune(NOW + DAY + 1)).toBe(3);
    expect(state.get('p:a')).toBeUndefined();
    expect(state.size).toBe(0);
  });

  it('converges whatever the order and repetition of changes (property)', () => {
    const change = fc.record({
      key: fc.constantFrom('p:a', 'p:b', 's:c'),
      at: fc.integer({ min: NOW - 1000, max: NOW }),
      revokeBefore: fc.option(fc.integer({ min: NOW - 1000, max: NOW }), { nil: undefined }),
      disabled: fc.option(fc.boolean(), { nil: undefined }),
      riskLevel: fc.option(fc.constantFrom('low', 'medium', 'high'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), fc.integer(), (changes, seed) => {
        const shuffled: RevocationChange[] = [...changes, ...changes.slice(0, 3)];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = Math.abs(seed + i * 7919) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const a = new RevocationState(DAY);
        const b = new RevocationState(DAY);
        for (const c of changes) a.apply(c, NOW);
        for (const c of shuffled) b.apply(c, NOW);
        for (const key of ['p:a', 'p:b', 's:c']) expect(b.get(key)).toEqual(a.get(key));
      }),
    );
  });
});
