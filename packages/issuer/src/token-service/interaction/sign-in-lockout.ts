/**
 * Smart lockout for the sign-in page: failed passwords and codes are counted per account name and
 * per client address in the database (every replica sees the same counts, and a new sign-in does not
 * reset them). Past a threshold the key is locked for a minute, doubling with each further failure up
 * to a cap; while locked, the page refuses before checking the password, so a locked account is no
 * password oracle. The lock is temporary by design: a permanent one would let anyone lock any user
 * out. The address threshold is higher and catches one client spraying many accounts.
 */
import { sql } from 'kysely';
import type { Db } from '../../storage/database.js';

export interface LockoutPolicy {
  /** Failures of one account name before it is locked. */
  accountThreshold: number;
  /** Failures from one client address before it is locked. */
  addressThreshold: number;
  /** A count starts over after this long without a failure (a steady guesser never gets there). */
  quietResetSeconds: number;
  /** The first lock; each further failure doubles it. */
  firstLockSeconds: number;
  maxLockSeconds: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  accountThreshold: 10,
  addressThreshold: 50,
  quietResetSeconds: 15 * 60,
  firstLockSeconds: 60,
  maxLockSeconds: 15 * 60,
};

export interface LockoutKeys {
  account: string;
  address: string;
}

/** Account names are counted as typed (lower case), so unknown names behave like known ones. */
export function lockoutKeys(username: string, clientIp: string): LockoutKeys {
  return { account: `account:${username.trim().toLowerCase()}`, address: `address:${clientIp}` };
}

/** How long a key with `failures` stays locked (0: not yet at the threshold). */
export function lockSeconds(failures: number, threshold: number, policy: LockoutPolicy): number {
  if (failures < threshold) return 0;
  const doublings = Math.min(failures - threshold, 30);
  return Math.min(policy.firstLockSeconds * 2 ** doublings, policy.maxLockSeconds);
}

/** Quiet, unlocked rows are deleted now and then (every PRUNE_EVERY failures of this process). */
const PRUNE_EVERY = 100;

export class SignInLockout {
  private failuresSincePrune = 0;

  constructor(
    private readonly db: Db,
    readonly policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
  ) {}

  /** Seconds until a sign-in with these keys may be tried again; 0 when neither is locked. */
  async lockedFor(keys: LockoutKeys, now = new Date()): Promise<number> {
    const rows = await this.db
      .selectFrom('sign_in_lockouts')
      .select('locked_until')
      .where('key', 'in', [keys.account, keys.address])
      .where('locked_until', '>', now)
      .execute();
    const until = Math.max(0, ...rows.map((row) => row.locked_until?.getTime() ?? 0));
    return until > now.getTime() ? Math.ceil((until - now.getTime()) / 1000) : 0;
  }

  /** Counts a failed password or code against both keys, locking a key that reached its threshold. */
  async recordFailure(keys: LockoutKeys, now = new Date()): Promise<void> {
    await this.count(keys.account, this.policy.accountThreshold, now);
    await this.count(keys.address, this.policy.addressThreshold, now);
    if (++this.failuresSincePrune >= PRUNE_EVERY) {
      this.failuresSincePrune = 0;
      await this.prune(now);
    }
  }

  /** A correct password or code: the account's count starts over (the address's does not). */
  async recordSuccess(keys: LockoutKeys): Promise<void> {
    await this.db.deleteFrom('sign_in_lockouts').where('key', '=', keys.account).execute();
  }

  async prune(now = new Date()): Promise<void> {
    const quietSince = new Date(now.getTime() - this.policy.quietResetSeconds * 1000);
    await this.db
      .deleteFrom('sign_in_lockouts')
      .where('last_failure_at', '<', quietSince)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .execute();
  }

  private async count(key: string, threshold: number, now: Date): Promise<void> {
    const quietSince = new Date(now.getTime() - this.policy.quietResetSeconds * 1000);
    // One atomic statement: concurrent failures on several replicas all count.
    const { failures } = await this.db
      .insertInto('sign_in_lockouts')
      .values({ key, failures: 1, last_failure_at: now, locked_until: null })
      .onConflict((conflict) =>
        conflict.column('key').doUpdateSet({
          failures: sql<number>`case when sign_in_lockouts.last_failure_at < ${quietSince}
            then 1 else sign_in_lockouts.failures + 1 end`,
          last_failure_at: now,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    const seconds = lockSeconds(failures, threshold, this.policy);
    if (seconds > 0) {
      await this.db
        .updateTable('sign_in_lockouts')
        .set({ locked_until: new Date(now.getTime() + seconds * 1000) })
        .where('key', '=', key)
        .execute();
    }
  }
}
