import { type RevocationChange, type RevocationEntry, RevocationState } from './revocation-state.js';
import type { RevocationStore } from './revocation-store.js';

export interface MemoryRevocationStoreOptions {
  /** Longest token lifetime plus clock skew, in seconds: how long a revocation is remembered. */
  retentionSeconds: number;
  /** How often old entries are dropped (default 60 s). */
  pruneIntervalMs?: number;
  /** Current time in milliseconds (tests). */
  now?: () => number;
}

/** The default store: one process, state in memory, pruned by age. */
export class MemoryRevocationStore implements RevocationStore {
  readonly state: RevocationState;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(options: MemoryRevocationStoreOptions) {
    this.state = new RevocationState(options.retentionSeconds);
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.prune(), options.pruneIntervalMs ?? 60_000).unref();
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

  async apply(changes: readonly RevocationChange[]): Promise<void> {
    const now = this.#now() / 1000;
    for (const change of changes) this.state.apply(change, now);
  }

  prune(): number {
    return this.state.prune(this.#now() / 1000);
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#timer);
  }
}
