import type { TokenStore } from '../token-store.js';

/**
 * The few Redis commands the store uses. An `ioredis` client (`new Redis(url)`) satisfies it; the SDK
 * does not depend on ioredis itself.
 */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
  del(key: string): Promise<number>;
}

/**
 * Tokens in Redis, for daemons that scale out: replicas share tokens instead of each asking the
 * issuer. Entries expire with Redis' own TTL (PX). The caller owns the connection (and closes it).
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisCommands;
  readonly keyPrefix: string;

  constructor(options: { redis: RedisCommands; keyPrefix?: string }) {
    this.#redis = options.redis;
    this.keyPrefix = options.keyPrefix ?? 'opencae:client:';
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#redis.get(this.keyPrefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.keyPrefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.keyPrefix + key);
  }
}
