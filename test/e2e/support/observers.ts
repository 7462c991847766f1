/**
 * What the suites count and time: every request a client makes (to the issuer's token endpoint and to
 * the API), and every SET a receiver applied, with the moment it was applied.
 */
import type { VerifiedSet } from '@opencae/protocol';
import type { SsfReceiver } from '@opencae/resource';

/** A fetch that records each request's URL and answer status. */
export class RequestLog {
  readonly entries: { url: URL; status: number | undefined }[] = [];

  constructor(
    private readonly issuerUrl: string,
    private readonly apiUrl: string,
  ) {}

  /** `transport` sends the request (the global fetch unless a test routes it, e.g. from another address). */
  readonly fetch = async (
    input: string | URL | Request,
    init?: RequestInit,
    transport: typeof fetch = globalThis.fetch,
  ): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const entry: { url: URL; status: number | undefined } = { url, status: undefined };
    this.entries.push(entry);
    const response = await transport(input, init);
    entry.status = response.status;
    return response;
  };

  reset(): void {
    this.entries.length = 0;
  }

  /** Token endpoint requests (any grant). */
  get tokenRequests(): number {
    return this.entries.filter((e) => e.url.href.startsWith(`${this.issuerUrl}/token`)).length;
  }

  /** Requests to the API. */
  get apiRequests(): number {
    return this.entries.filter((e) => e.url.href.startsWith(this.apiUrl)).length;
  }
}

export interface DeliveredEvent {
  set: VerifiedSet;
  /** performance.now() when the receiver had applied it (listeners run after the store is updated). */
  appliedAt: number;
}

/** The SETs a receiver applied, to wait for the ones of one admin action (by `txn`). */
export class DeliveredEvents {
  readonly #events: DeliveredEvent[] = [];
  readonly #waiters = new Set<() => void>();
  readonly unsubscribe: () => void;

  constructor(receiver: SsfReceiver) {
    this.unsubscribe = receiver.onEvent((set) => {
      this.#events.push({ set, appliedAt: performance.now() });
      for (const wake of this.#waiters) wake();
    });
  }

  /** The SET carrying `txn`, once the receiver applied it (rejects after `timeoutMs`). */
  waitFor(txn: string, timeoutMs = 15_000): Promise<DeliveredEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.#events.find((e) => e.set.payload.txn === txn);
        if (!found) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no SET with txn ${txn} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
}

/** Resolves at the start of the next wall-clock second (tokens and events carry whole seconds). */
export async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}
