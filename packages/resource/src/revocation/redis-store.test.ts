import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisUrl } from '../../../../test/support/services.js';
import { RedisRevocationStore } from './redis-store.js';

const url = await redisUrl();
const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!url)('RedisRevocationStore (real Redis)', () => {
  let admin: Redis;
  let prefix: string;
  const stores: RedisRevocationStore[] = [];
  const open = (o: Partial<ConstructorParameters<typeof RedisRevocationStore>[0]> = {}) => {
    const store = new RedisRevocationStore({ redis: url!, keyPrefix: prefix, retentionSeconds: DAY, ...o });
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    admin = new Redis(url!);
  });
  afterAll(() => admin.quit());
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  });

  it('enforces a change applied by one replica on every replica', async () => {
    const [a, b] = [open(), open()];
    await Promise.all([a.ready(), b.ready()]);
    await a.apply([{ key: 'p:u1', at: NOW, revokeBefore: NOW }]);
    expect(a.revokedBefore('p:u1')).toBe(NOW);
    await eventually(() => b.revokedBefore('p:u1') === NOW);
    await b.apply([{ key: 'p:u2', at: NOW, disabled: true, revokeBefore: NOW }]);
    await eventually(() => a.disabledSince('p:u2') === NOW);
  });

  it('lets a late replica catch up from Redis', async () => {
    const a = open();
    await a.ready();
    await a.apply([
      { key: 'p:u1', at: NOW - 10, revokeBefore: NOW - 10 },
      { key: 'p:u2', at: NOW - 5, disabled: true },
      { key: 'p:u3', at: NOW - 5, riskLevel: 'high', revokeBefore: NOW - 5 },
    ]);
    const late = open();
    await late.ready();
    expect(late.revokedBefore('p:u1')).toBe(NOW - 10);
    expect(late.disabledSince('p:u2')).toBe(NOW - 5);
    expect(late.get('p:u3')).toMatchObject({ riskLevel: 'high', revokedBefore: NOW - 5 });
  });

  it('catches up after its subscription was cut, including changes published meanwhile', async () => {
    const name = `sub-${randomUUID()}`;
    const [a, b] = [open(), open({ subscriberName: name })];
    await Promise.all([a.ready(), b.ready()]);
    // Kill b's subscribing connection server-side; ioredis reconnects and b must resync from Redis.
    const line = String(await admin.client('LIST'))
      .split('\n')
      .find((l) => l.includes(`name=${name} `));
    const id = /id=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', id!);
    await a.apply([{ key: 'p:during', at: NOW, revokeBefore: NOW }]);
    await eventually(() => b.revokedBefore('p:during') === NOW);
  });

  it('prunes entries older than the retention from Redis and the mirror', async () => {
    let now = NOW * 1000;
    const a = open({ retentionSeconds: 100, now: () => now });
    await a.ready();
    await a.apply([{ key: 'p:u1', at: NOW, revokeBefore: NOW, disabled: true }]);
    now += 101_000;
    await a.prune();
    expect(a.get('p:u1')).toBeUndefined();
    expect(await admin.zcard(`${prefix}revoked-before`)).toBe(0);
    expect(await admin.zcard(`${prefix}disabled`)).toBe(0);
  });

  it('ignores malformed messages on its channel', async () => {
    const a = open();
    await a.ready();
    await admin.publish(`${prefix}changes`, 'not json');
    await admin.publish(`${prefix}changes`, JSON.stringify([{ key: 'p:x', at: NOW, revokeBefore: NOW }]));
    await eventually(() => a.revokedBefore('p:x') === NOW);
    expect(a.lastError?.message).toMatch(/malformed/);
  });
});
