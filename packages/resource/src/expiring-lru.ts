/**
 * A bounded least-recently-used map whose entries also expire at their own time. A JavaScript `Map`
 * keeps insertion order, so re-inserting on read moves an entry to the young end and the oldest
 * entry is always the first key: every operation is O(1).
 */
export class ExpiringLru<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, unless absent or expired at `now` (milliseconds). */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  has(key: string, now: number): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > now;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
