import { Redis } from 'ioredis';
import { z } from 'zod';
import { RevocationStoreError } from '../errors.js';
import { parseOptions } from '../options.js';
import {
  disabledScore,
  type RevocationChange,
  type RevocationEntry,
  RevocationState,
  riskScore,
} from './revocation-state.js';
import type { RevocationStore } from './revocation-store.js';

const optionsSchema = z.strictObject({
  /** A Redis URL, or a connection the caller owns (a second, subscribing connection is duplicated from it). */
  redis: z.union([
    z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    z.instanceof(Redis),
  ]),
  /** Prefix of every key and channel, so several APIs (or tests) can share one Redis. */
  keyPrefix: z.string().default('opencae:revocation:'),
  /** CLIENT SETNAME of the subscribing connection, to find it in CLIENT LIST. */
  subscriberName: z.string().regex(/^\S+$/).default('opencae-revocation-subscriber'),
  /** Longest token lifetime plus clock skew, in seconds. */
  retentionSeconds: z.number().int().positive(),
  pruneIntervalMs: z.number().int().positive().default(60_000),
  now: z.custom<() => number>((v) => typeof v === 'function').default(() => Date.now),
});

export type RedisRevocationStoreOptions = z.input<typeof optionsSchema>;

const changeSchema = z.object({
  key: z.string().min(1),
  at: z.number().finite(),
  revokeBefore: z.number().finite().optional(),
  disabled: z.boolean().optional(),
  riskLevel: z.string().optional(),
});
const messageSchema = z.array(changeSchema);

type Field = 'revokedBefore' | 'disabled' | 'risk';
const FIELDS: readonly Field[] = ['revokedBefore', 'disabled', 'risk'];
/** Sorted-set scores encode times at these multiples (see revocation-state.ts). */
const SCALE: Record<Field, number> = { revokedBefore: 1, disabled: 2, risk: 8 };

/**
 * Revocation state shared by several replicas through Redis, read from an in-process mirror.
 *
 * Each field is a sorted set (member: subject key, score: see revocation-state.ts) written with
 * `ZADD GT`, so concurrent writers merge exactly as the mirror does. A change is applied to the
 * local mirror at once, written, then published; every replica merges published changes into its
 * mirror. On start and after every reconnection a replica subscribes first and then reads the sorted
 * sets, so nothing published meanwhile is missed and a late or disconnected replica catches up.
 */
export class RedisRevocationStore implements RevocationStore {
  readonly state: RevocationState;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #ownsConnection: boolean;
  readonly #keys: Record<Field, string>;
  readonly #channel: string;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #closed = false;
  /** Last error met while syncing (reported by health checks); cleared by the next successful catch-up. */
  lastError: Error | undefined;

  constructor(input: RedisRevocationStoreOptions) {
    const options = parseOptions(optionsSchema, input, 'Redis revocation store');
    this.state = new RevocationState(options.retentionSeconds);
    this.#now = options.now;
    this.#ownsConnection = typeof options.redis === 'string';
    this.#redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.#subscriber = this.#redis.duplicate({ connectionName: options.subscriberName });
    const prefix = options.keyPrefix;
    this.#keys = {
      revokedBefore: `${prefix}revoked-before`,
      disabled: `${prefix}disabled`,
      risk: `${prefix}risk`,
    };
    this.#channel = `${prefix}changes`;
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });

    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.#receive(message);
    });
    // 'ready' fires on the first connection and after every reconnection. Subscribing (again: it is
    // idempotent) before reading means every change is either in what is read or in a later message.
    this.#subscriber.on('ready', () => {
      this.#subscriber
        .subscribe(this.#channel)
        .then(() => this.#catchUp())
        .catch((error: unknown) => {
          this.lastError = error as Error;
        });
    });
    this.#subscriber.on('error', (error: Error) => {
      this.lastError = error;
    });
    this.#timer = setInterval(() => {
      this.prune().catch((error: unknown) => {
        this.lastError = error as Error;
      });
    }, options.pruneIntervalMs).unref();
  }

  get(key: string): RevocationEntry | undefined {
    return this.state.get(key);
  }

  revokedBefore(key: string): number {
    return this.state.revokedBefore(key);
  }

  disabledSince(key: string): number {
    return this.state.disabledSince(key);
  }

  /** Resolves once this replica has caught up with Redis for the first time. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async apply(changes: readonly RevocationChange[]): Promise<void> {
    if (changes.length === 0) return;
    const now = this.#seconds();
    for (const change of changes) this.state.apply(change, now);
    const pipeline = this.#redis.multi();
    for (const change of changes) {
      if (change.revokeBefore !== undefined) {
        pipeline.zadd(this.#keys.revokedBefore, 'GT', change.revokeBefore, change.key);
      }
      if (change.disabled !== undefined) {
        pipeline.zadd(this.#keys.disabled, 'GT', disabledScore(change.at, change.disabled), change.key);
      }
      if (change.riskLevel !== undefined) {
        pipeline.zadd(this.#keys.risk, 'GT', riskScore(change.at, change.riskLevel), change.key);
      }
    }
    pipeline.publish(this.#channel, JSON.stringify(changes));
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
    } catch (cause) {
      throw new RevocationStoreError(
        `recording revocation changes in Redis failed: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  /** Drops entries older than the retention, in the mirror and in Redis. */
  async prune(): Promise<void> {
    const now = this.#seconds();
    this.state.prune(now);
    const cutoff = now - this.state.retentionSeconds;
    const pipeline = this.#redis.pipeline();
    for (const field of FIELDS)
      pipeline.zremrangebyscore(this.#keys[field], '-inf', `(${cutoff * SCALE[field]}`);
    await pipeline.exec();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#subscriber.disconnect();
    if (this.#ownsConnection) this.#redis.disconnect();
  }

  #seconds(): number {
    return this.#now() / 1000;
  }

  #receive(message: string): void {
    let changes: z.infer<typeof messageSchema>;
    try {
      changes = messageSchema.parse(JSON.parse(message));
    } catch (error) {
      this.lastError = new RevocationStoreError('ignored a malformed message on the revocation channel', {
        cause: error,
      });
      return;
    }
    const now = this.#seconds();
    for (const change of changes) this.state.apply(change, now);
  }

  async #catchUp(): Promise<void> {
    for (const field of FIELDS) {
      let cursor = '0';
      do {
        const [next, flat] = await this.#redis.zscan(this.#keys[field], cursor, 'COUNT', 1000);
        const now = this.#seconds();
        for (let i = 0; i + 1 < flat.length; i += 2) {
          this.state.mergeScores(field, flat[i]!, Number(flat[i + 1]), now);
        }
        cursor = next;
      } while (cursor !== '0' && !this.#closed);
    }
    this.lastError = undefined;
    this.#resolveReady();
  }
}
