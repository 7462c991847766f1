import type { TokenStore } from '../token-store.js';

/** The default store: a Map in this process. Entries past their time to live are dropped on access. */
export class MemoryTokenStore implements TokenStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #now: () => number;

  /** `now` defaults to Date.now; it only decides when entries are dropped. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    for (const [k, entry] of this.#entries) if (now >= entry.expiresAt) this.#entries.delete(k);
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }
}
