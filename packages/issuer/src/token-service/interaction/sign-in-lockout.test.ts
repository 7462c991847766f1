import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageEngines } from '../../../test/support/storage-engines.js';
import type { Storage } from '../../storage/database.js';
import { DEFAULT_LOCKOUT_POLICY, lockoutKeys, lockSeconds, SignInLockout } from './sign-in-lockout.js';

const policy = DEFAULT_LOCKOUT_POLICY;
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe('lock durations', () => {
  it('none below the threshold, then a minute doubling with each failure, capped', () => {
    expect(lockSeconds(9, 10, policy)).toBe(0);
    expect(lockSeconds(10, 10, policy)).toBe(60);
    expect(lockSeconds(11, 10, policy)).toBe(120);
    expect(lockSeconds(13, 10, policy)).toBe(480);
    expect(lockSeconds(14, 10, policy)).toBe(900);
    expect(lockSeconds(1000, 10, policy)).toBe(900);
  });

  it('keys accounts by the name as typed, in lower case', () => {
    expect(lockoutKeys(' Alice ', '10.0.0.1')).toEqual({
      account: 'account:alice',
      address: 'address:10.0.0.1',
    });
  });
});

describe.each(storageEngines)('sign-in lockout on $name', (engine) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  let lockout: SignInLockout;

  beforeAll(async () => {
    ({ storage, drop } = await engine.open());
    lockout = new SignInLockout(storage.db);
  });
  afterAll(async () => {
    await storage?.close();
    await drop?.();
  });

  it('locks an account after ten failures, for a minute, then longer with each further failure', async () => {
    const keys = lockoutKeys('mallory', '192.0.2.1');
    for (let i = 0; i < 9; i++) await lockout.recordFailure(keys, at(i));
    expect(await lockout.lockedFor(keys, at(9))).toBe(0);
    await lockout.recordFailure(keys, at(10));
    expect(await lockout.lockedFor(keys, at(10))).toBe(60);
    expect(await lockout.lockedFor(keys, at(40))).toBe(30);
    expect(await lockout.lockedFor(keys, at(71))).toBe(0);
    await lockout.recordFailure(keys, at(71));
    expect(await lockout.lockedFor(keys, at(71))).toBe(120);
    // Another address trying the same account is locked out too.
    expect(await lockout.lockedFor(lockoutKeys('MALLORY', '198.51.100.7'), at(72))).toBe(119);
  });

  it('starts the count over after a quiet window, and after a correct password', async () => {
    const keys = lockoutKeys('quiet', '192.0.2.2');
    for (let i = 0; i < 9; i++) await lockout.recordFailure(keys, at(i));
    await lockout.recordFailure(keys, at(9 + policy.quietResetSeconds + 1));
    expect(await lockout.lockedFor(keys, at(9 + policy.quietResetSeconds + 1))).toBe(0);

    const other = lockoutKeys('forgetful', '192.0.2.3');
    for (let i = 0; i < 9; i++) await lockout.recordFailure(other, at(i));
    await lockout.recordSuccess(other);
    await lockout.recordFailure(other, at(10));
    expect(await lockout.lockedFor(other, at(10))).toBe(0);
  });

  it('locks an address that fails on many accounts (password spraying)', async () => {
    for (let i = 0; i < policy.addressThreshold; i++)
      await lockout.recordFailure(lockoutKeys(`victim-${i}`, '203.0.113.9'), at(i));
    expect(await lockout.lockedFor(lockoutKeys('anyone', '203.0.113.9'), at(policy.addressThreshold))).toBe(
      59,
    );
    expect(await lockout.lockedFor(lockoutKeys('anyone', '203.0.113.10'), at(policy.addressThreshold))).toBe(
      0,
    );
  });

  it('counts concurrent failures from several replicas exactly', async () => {
    const keys = lockoutKeys('raced', '192.0.2.4');
    await Promise.all(Array.from({ length: 10 }, () => lockout.recordFailure(keys, at(5))));
    expect(await lockout.lockedFor(keys, at(5))).toBe(60);
  });

  it('prunes quiet, unlocked rows', async () => {
    const keys = lockoutKeys('pruned', '192.0.2.5');
    await lockout.recordFailure(keys, at(0));
    await lockout.prune(at(policy.quietResetSeconds + 10));
    const left = await storage.db
      .selectFrom('sign_in_lockouts')
      .select('key')
      .where('key', '=', keys.account)
      .execute();
    expect(left).toEqual([]);
  });
});
