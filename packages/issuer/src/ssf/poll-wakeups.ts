/** Long polls waiting for their stream, woken by the deliveries NOTIFY (from any issuer process). */
export class PollWakeups {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** `payload` is a comma-separated list of stream ids, or `*` for every stream. */
  wake(payload: string): void {
    if (payload === '*' || payload === '') {
      for (const set of this.waiters.values()) for (const waiter of set) waiter();
      return;
    }
    for (const streamId of payload.split(',')) {
      for (const waiter of this.waiters.get(streamId) ?? []) waiter();
    }
  }

  wakeAll(): void {
    this.wake('*');
  }

  /** Resolves on a wake-up for the stream, after `ms`, or when `signal` aborts — whichever comes first. */
  wait(streamId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(streamId) ?? new Set();
      this.waiters.set(streamId, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(streamId) === set) this.waiters.delete(streamId);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      if (signal?.aborted) return done();
      set.add(done);
    });
  }
}
