import type { RevocationChange, RevocationEntry } from './revocation-state.js';

/**
 * Where revocation state lives. Reads are synchronous and served from process memory, so the
 * per-request check never waits on the network; writes may be shared with other replicas.
 */
export interface RevocationStore {
  get(key: string): RevocationEntry | undefined;
  /** Tokens of `key` issued before the returned time are revoked (0: none). */
  revokedBefore(key: string): number;
  /** The time `key` was disabled, or 0 when it is not disabled. */
  disabledSince(key: string): number;
  /**
   * Records changes. They are enforced by this process as soon as the promise is created, and by
   * every replica sharing the store once it resolves; a rejection means they were not shared.
   */
  apply(changes: readonly RevocationChange[]): Promise<void>;
  /** Resolves once the store has caught up with shared state (immediately for the memory store). */
  ready(): Promise<void>;
  close(): Promise<void>;
}
