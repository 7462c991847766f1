/**
 * A per-process cache of directory reads that is never older than a committed change by more than
 * the NOTIFY latency. Migration 007 makes every write to a directory table (admin API, CLI, another
 * replica, raw SQL) send NOTIFY opencae_directory_changed; the cache empties itself on each one.
 *
 * The cache only serves entries while it is subscribed: before LISTEN is established, and from the
 * moment the listener connection is lost until it is re-established (and the cache emptied again),
 * every read goes to the database. Entries are the promises of loads, so a load still in flight when
 * a notification arrives is dropped with the rest and never cached after the change.
 */
import type { Storage } from '../storage/database.js';

export const DIRECTORY_CHANGED_CHANNEL = 'opencae_directory_changed';

export interface DirectoryCacheOptions {
  /** Most entries kept; entries not used recently go first (second-chance eviction). */
  maxEntries?: number;
  /** First and longest wait before subscribing again after the listener connection was lost. */
  retryMs?: { min: number; max: number };
  /** Told when the subscription is lost or re-established (logs). */
  onStatus?: (status: 'live' | 'lost', error?: Error) => void;
}

export interface DirectoryCacheStats {
  live: boolean;
  entries: number;
  hits: number;
  misses: number;
  /** Notifications (and subscription changes) that emptied the cache. */
  invalidations: number;
  /** The table named by the latest notification (the payload sent by migration 007's trigger). */
  lastChangedTable: string | undefined;
}

export class DirectoryCache {
  private readonly entries = new Map<string, { value: Promise<unknown>; used: boolean }>();
  private readonly maxEntries: number;
  private readonly retryMs: { min: number; max: number };
  private live = false;
  private stopped = false;
  private unlisten: (() => Promise<void>) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private hits = 0;
  private misses = 0;
  private invalidations = 0;
  private lastChangedTable: string | undefined;

  constructor(private readonly options: DirectoryCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.retryMs = options.retryMs ?? { min: 100, max: 5_000 };
  }

  /** The cached value for `key`, or the result of `load` (cached only while subscribed). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.live) return load();
    const cached = this.entries.get(key);
    if (cached) {
      this.hits++;
      cached.used = true;
      return cached.value as Promise<T>;
    }
    this.misses++;
    const entry = { value: load() as Promise<unknown>, used: false };
    this.entries.set(key, entry);
    // A failed read is not remembered.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    if (this.entries.size > this.maxEntries) this.evictOne();
    return entry.value as Promise<T>;
  }

  /**
   * Second chance (CLOCK), close to least-recently-used without reordering the map on every hit (the
   * token endpoint hits this cache several times per request): the oldest entry goes, unless it was
   * used since it was last considered, in which case it moves to the back.
   */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.entries.set(key, entry);
    }
  }

  /** Forgets every entry (a directory table changed). */
  invalidate(): void {
    this.entries.clear();
    this.invalidations++;
  }

  private changed(table: string): void {
    this.lastChangedTable = table;
    this.invalidate();
  }

  /** Subscribes to directory changes; the cache serves entries once this resolves. */
  async start(storage: Pick<Storage, 'listen'>): Promise<void> {
    this.stopped = false;
    await this.subscribe(storage);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    this.entries.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
  }

  stats(): DirectoryCacheStats {
    return {
      live: this.live,
      entries: this.entries.size,
      hits: this.hits,
      misses: this.misses,
      invalidations: this.invalidations,
      lastChangedTable: this.lastChangedTable,
    };
  }

  private async subscribe(storage: Pick<Storage, 'listen'>): Promise<void> {
    const unlisten = await storage.listen(DIRECTORY_CHANGED_CHANNEL, (table) => this.changed(table), {
      onLost: (error) => this.lost(storage, error),
    });
    if (this.stopped) {
      await unlisten();
      return;
    }
    this.unlisten = unlisten;
    // Whatever changed while nobody listened is unknown: start empty.
    this.invalidate();
    this.live = true;
    this.options.onStatus?.('live');
  }

  private lost(storage: Pick<Storage, 'listen'>, error: Error | undefined, attempt = 0): void {
    this.live = false;
    this.unlisten = undefined;
    this.invalidate();
    if (attempt === 0) this.options.onStatus?.('lost', error);
    if (this.stopped) return;
    const delay = Math.min(this.retryMs.max, this.retryMs.min * 2 ** attempt);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.subscribe(storage).catch((retryError: Error) => this.lost(storage, retryError, attempt + 1));
    }, delay);
    this.retryTimer.unref();
  }
}
