import { describe, expect, it } from 'vitest';
import { ExpiringLru } from './expiring-lru.js';

describe('ExpiringLru', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const lru = new ExpiringLru<number>(2);
    lru.set('a', 1, 100);
    lru.set('b', 2, 100);
    expect(lru.get('a', 0)).toBe(1); // a is now the most recent
    lru.set('c', 3, 100);
    expect(lru.get('b', 0)).toBeUndefined();
    expect(lru.get('a', 0)).toBe(1);
    expect(lru.get('c', 0)).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('keeps an entry read in the younger half without moving it, and moves one that drifted older', () => {
    const lru = new ExpiringLru<number>(4);
    for (const key of ['a', 'b', 'c', 'd']) lru.set(key, 1, 100);
    expect(lru.get('d', 0)).toBe(1); // youngest: stays where it is
    expect(lru.get('a', 0)).toBe(1); // oldest: moved to the young end
    lru.set('e', 1, 100);
    lru.set('f', 1, 100);
    // b and c were evicted, the read entries survived.
    expect(['a', 'b', 'c', 'd', 'e', 'f'].filter((key) => lru.has(key, 0))).toEqual(['a', 'd', 'e', 'f']);
  });

  it('never evicts an entry read within the last maxEntries / 2 writes', () => {
    const lru = new ExpiringLru<number>(100);
    lru.set('hot', 1, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 10_000; i++) {
      lru.set(`cold-${i}`, i, Number.POSITIVE_INFINITY);
      if (i % 50 === 0) expect(lru.get('hot', 0)).toBe(1);
    }
    expect(lru.size).toBe(100);
  });

  it('forgets an entry at its expiry time', () => {
    const lru = new ExpiringLru<string>(10);
    lru.set('k', 'v', 50);
    expect(lru.get('k', 49)).toBe('v');
    expect(lru.get('k', 50)).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('rejects a non-positive bound', () => {
    expect(() => new ExpiringLru(0)).toThrow(RangeError);
  });
});
