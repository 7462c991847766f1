/**
 * A bounded least-recently-used map whose entries also expire at their own time. A JavaScript `Map`
 * keeps insertion order, so re-inserting an entry moves it to the young end and the oldest entry is
 * always the first key: every operation is O(1).
 *
 * Reads are the hot path (a token cache hit on every request), and a delete plus re-insert costs two
 * hash operations and leaves a hole the Map must compact later. So a read moves an entry only when it
 * has drifted into the older half (judged by a sequence number): an entry read is still never among
 * the next `maxEntries / 2` evicted, and a hot entry is moved about once per `maxEntries / 2` writes
 * instead of on every read.
 */
export class ExpiringLru<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number; sequence: number }>();
  readonly #youngHalf: number;
  #sequence = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.#youngHalf = Math.max(1, maxEntries >> 1);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, unless absent or expired at `now` (milliseconds). */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    if (this.#sequence - entry.sequence >= this.#youngHalf) {
      this.#entries.delete(key);
      entry.sequence = ++this.#sequence;
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  has(key: string, now: number): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > now;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt, sequence: ++this.#sequence });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
