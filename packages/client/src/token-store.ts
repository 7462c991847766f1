/**
 * Where tokens live between calls. Values are opaque strings (the cache serializes and validates
 * them), so a store only moves bytes: memory, a directory of files, Redis, or your own.
 * Stores hold bearer credentials: keep them private to the process' user (the file store writes
 * mode 0600) and never log their values.
 */
export interface TokenStore {
  /** The value stored under `key`, or undefined when absent or past its time to live. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` for `ttlMs` milliseconds (a positive integer). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}
