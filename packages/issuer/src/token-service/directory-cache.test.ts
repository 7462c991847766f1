import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ListenOptions } from '../storage/database.js';
import { DIRECTORY_CHANGED_CHANNEL, DirectoryCache } from './directory-cache.js';

/** A storage whose subscription the test drives: resolve LISTEN, send notifications, drop it. */
class FakeStorage {
  notify: ((payload: string) => void) | undefined;
  lose: ((error: Error | undefined) => void) | undefined;
  channels: string[] = [];
  unsubscribed = 0;
  private pending: (() => void) | undefined;
  failNext = false;
  holdNext = false;

  async listen(channel: string, onNotify: (payload: string) => void, options?: ListenOptions) {
    this.channels.push(channel);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection refused');
    }
    if (this.holdNext) {
      this.holdNext = false;
      await new Promise<void>((resolve) => {
        this.pending = resolve;
      });
    }
    this.notify = onNotify;
    this.lose = options?.onLost;
    return async () => {
      this.unsubscribed++;
    };
  }

  establish(): void {
    this.pending?.();
    this.pending = undefined;
  }
}

function counter() {
  let loads = 0;
  const load = async () => ({ value: ++loads });
  return { load, loads: () => loads };
}

describe('DirectoryCache', () => {
  const caches: DirectoryCache[] = [];
  const make = (options?: ConstructorParameters<typeof DirectoryCache>[0]) => {
    const cache = new DirectoryCache({ retryMs: { min: 5, max: 20 }, ...options });
    caches.push(cache);
    return cache;
  };
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.stop();
  });

  it('reads through to the database until LISTEN is established', async () => {
    const storage = new FakeStorage();
    storage.holdNext = true;
    const cache = make();
    const { load, loads } = counter();
    const starting = cache.start(storage);
    await cache.get('k', load);
    await cache.get('k', load);
    expect(loads()).toBe(2);
    expect(cache.stats()).toMatchObject({ live: false, entries: 0 });

    storage.establish();
    await starting;
    expect(storage.channels).toEqual([DIRECTORY_CHANGED_CHANNEL]);
    await cache.get('k', load);
    await cache.get('k', load);
    expect(loads()).toBe(3);
    expect(cache.stats()).toMatchObject({ live: true, entries: 1, hits: 1, misses: 1 });
  });

  it('empties itself on every notification', async () => {
    const storage = new FakeStorage();
    const cache = make();
    await cache.start(storage);
    const { load, loads } = counter();
    await cache.get('a', load);
    await cache.get('b', load);
    storage.notify?.('service_principals');
    expect(cache.stats().entries).toBe(0);
    expect(await cache.get('a', load)).toEqual({ value: 3 });
    expect(loads()).toBe(3);
  });

  it('never keeps a load that was in flight when a change was notified', async () => {
    const storage = new FakeStorage();
    const cache = make();
    await cache.start(storage);
    let release: ((value: string) => void) | undefined;
    const stale = cache.get('k', () => new Promise<string>((resolve) => (release = resolve)));
    storage.notify?.('users');
    release?.('before the change');
    expect(await stale).toBe('before the change');
    expect(await cache.get('k', async () => 'after the change')).toBe('after the change');
  });

  it('does not remember failed reads', async () => {
    const storage = new FakeStorage();
    const cache = make();
    await cache.start(storage);
    await expect(cache.get('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await Promise.resolve();
    expect(await cache.get('k', async () => 'ok')).toBe('ok');
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const storage = new FakeStorage();
    const cache = make({ maxEntries: 2 });
    await cache.start(storage);
    const { load, loads } = counter();
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('a', load); // a is now the most recent
    await cache.get('c', load); // evicts b
    expect(loads()).toBe(3);
    await cache.get('a', load);
    expect(loads()).toBe(3);
    await cache.get('b', load);
    expect(loads()).toBe(4);
    expect(cache.stats().entries).toBe(2);
  });

  it('is bypassed from the moment the subscription is lost until it is re-established', async () => {
    const storage = new FakeStorage();
    const statuses: string[] = [];
    const cache = make({ onStatus: (status) => statuses.push(status) });
    await cache.start(storage);
    const { load, loads } = counter();
    await cache.get('k', load);

    storage.failNext = true; // the first re-subscription fails too
    storage.lose?.(new Error('connection terminated'));
    expect(cache.stats()).toMatchObject({ live: false, entries: 0 });
    await cache.get('k', load);
    await cache.get('k', load);
    expect(loads()).toBe(3);

    await vi.waitFor(() => expect(cache.stats().live).toBe(true), { timeout: 2000, interval: 5 });
    expect(storage.channels.length).toBe(3);
    expect(statuses).toEqual(['live', 'lost', 'live']);
    await cache.get('k', load);
    await cache.get('k', load);
    expect(loads()).toBe(4);
  });

  it('stops serving and unsubscribes on stop', async () => {
    const storage = new FakeStorage();
    const cache = make();
    await cache.start(storage);
    const { load, loads } = counter();
    await cache.get('k', load);
    await cache.stop();
    expect(storage.unsubscribed).toBe(1);
    await cache.get('k', load);
    expect(loads()).toBe(2);
  });

  it('refuses a nonsensical size', () => {
    expect(() => new DirectoryCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
