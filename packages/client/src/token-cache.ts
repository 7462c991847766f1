/**
 * The token cache: an in-process copy in front of a TokenStore, single-flight acquisition, proactive
 * background refresh with exponential backoff, and never an expired token.
 *
 * For a key (authority + client + scopes/resources + claims):
 * - a token before its refreshAt is served as is;
 * - between refreshAt and expiry it is still served, and one background refresh starts (unless a
 *   previous background refresh failed and its backoff has not elapsed);
 * - past expiry (minus skew), or absent, the caller waits for a new token;
 * - concurrent callers for the same key share one request (in this process).
 * A store shared by several processes (file, Redis) is read again before the issuer is asked, so a
 * token another process already refreshed is used instead of asking again.
 */
import type { AccessToken } from './access-token.js';
import { parseStoredAccessToken, serializeAccessToken } from './access-token.js';
import type { Clock } from './clock.js';
import { type LifetimePolicy, usableUntil } from './lifetime.js';
import type { TokenStore } from './token-store.js';

export interface BackoffPolicy {
  /** Delay after the first failed background refresh. */
  initialMs: number;
  /** Upper bound of the doubling delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 5_000, maxMs: 5 * 60_000 };

export interface TokenCacheOptions {
  store: TokenStore;
  clock: Clock;
  policy: LifetimePolicy;
  backoff: BackoffPolicy;
  /** Failures that no caller sees: background refreshes and store reads/writes. */
  onBackgroundError: (error: unknown) => void;
}

export type Acquire = () => Promise<AccessToken>;

export class TokenCache {
  readonly #o: TokenCacheOptions;
  readonly #memory = new Map<string, AccessToken>();
  readonly #flights = new Map<string, Promise<AccessToken>>();
  readonly #failures = new Map<string, { count: number; retryAt: number }>();

  constructor(options: TokenCacheOptions) {
    this.#o = options;
  }

  /** A usable token for `key`: cached, or acquired (once for all concurrent callers). */
  async get(key: string, acquire: Acquire, signal?: AbortSignal): Promise<AccessToken> {
    let cached = this.#memory.get(key);
    if (!cached) {
      cached = await this.#read(key);
      if (cached) this.#memory.set(key, cached);
    }
    const now = this.#o.clock.now();
    if (cached && this.#usable(cached, now)) {
      if (now >= cached.refreshAt) this.#refreshInBackground(key, acquire, now);
      return cached;
    }
    return abortable(
      this.#flight(key, () => this.#acquire(key, acquire, true)),
      signal,
    );
  }

  /**
   * A new token for `key`, bypassing the cache (answering a claims challenge). Concurrent callers with
   * the same `flightId` (the challenge's claims) share one request. The result replaces the cached token.
   */
  renew(key: string, flightId: string, acquire: Acquire, signal?: AbortSignal): Promise<AccessToken> {
    return abortable(
      this.#flight(`${key}\n${flightId}`, () => this.#acquire(key, acquire, false)),
      signal,
    );
  }

  /** Stops serving `token` for `key` (a token the issuer will not renew is not sent again). */
  async evict(key: string, token: string): Promise<void> {
    if (this.#memory.get(key)?.token === token) this.#memory.delete(key);
    const stored = await this.#read(key);
    if (stored?.token === token) {
      await this.#o.store.delete(key).catch(this.#o.onBackgroundError);
    }
  }

  #usable(token: AccessToken, now: number): boolean {
    return now < usableUntil(token.expiresAt, this.#o.policy);
  }

  #refreshInBackground(key: string, acquire: Acquire, now: number): void {
    const failure = this.#failures.get(key);
    if (failure && now < failure.retryAt) return;
    if (this.#flights.has(key)) return;
    this.#flight(key, () => this.#acquire(key, acquire, true)).then(
      () => this.#failures.delete(key),
      (error: unknown) => {
        const count = (this.#failures.get(key)?.count ?? 0) + 1;
        const delay = Math.min(this.#o.backoff.initialMs * 2 ** (count - 1), this.#o.backoff.maxMs);
        this.#failures.set(key, { count, retryAt: this.#o.clock.now() + delay });
        this.#o.onBackgroundError(error);
      },
    );
  }

  #flight(id: string, run: () => Promise<AccessToken>): Promise<AccessToken> {
    let flight = this.#flights.get(id);
    if (!flight) {
      flight = run().finally(() => this.#flights.delete(id));
      this.#flights.set(id, flight);
    }
    return flight;
  }

  async #acquire(key: string, acquire: Acquire, useStored: boolean): Promise<AccessToken> {
    if (useStored) {
      // Another process sharing the store may have refreshed already.
      const stored = await this.#read(key);
      const now = this.#o.clock.now();
      if (stored && this.#usable(stored, now) && now < stored.refreshAt) {
        this.#memory.set(key, stored);
        return stored;
      }
    }
    const token = await acquire();
    await this.#write(key, token);
    return token;
  }

  async #read(key: string): Promise<AccessToken | undefined> {
    try {
      return parseStoredAccessToken(await this.#o.store.get(key));
    } catch (error) {
      this.#o.onBackgroundError(error);
      return undefined;
    }
  }

  async #write(key: string, token: AccessToken): Promise<void> {
    // A slower, older request (a background refresh racing a challenge answer) never replaces a newer token.
    const current = this.#memory.get(key);
    if (current && current.obtainedAt > token.obtainedAt) return;
    this.#memory.set(key, token);
    const ttl = token.expiresAt - this.#o.clock.now();
    if (ttl <= 0) return;
    try {
      await this.#o.store.set(key, serializeAccessToken(token), ttl);
    } catch (error) {
      this.#o.onBackgroundError(error);
    }
  }
}

/** The caller stops waiting on abort; the shared request goes on for the other callers. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
