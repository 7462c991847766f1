/**
 * Embedded PGlite on a thread of its own. PGlite is PostgreSQL compiled to WebAssembly: every query,
 * index update and WAL write runs on the thread that owns the instance. On the main thread that work
 * stalls every request being served (the sign-in log's inserts alone took ~7% of the token endpoint's
 * time); on a worker thread it runs beside them, as PostgreSQL's own processes do for a server.
 *
 * `PGliteThread` offers the part of PGlite's API the storage layer uses (Kysely's PGlite dialect:
 * `query`, `transaction`; plus `listen` and `close`), each call a message to the worker. Errors come
 * back with PostgreSQL's fields (`code`, `detail`, `constraint`...), so SQLSTATE checks work unchanged.
 * If the thread dies, every pending and later call fails with ERR_EMBEDDED_DATABASE_STOPPED and
 * subscribers are told their notifications are lost.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { OpenCaeError } from '@opencae/protocol';

/** Plain CommonJS so it runs the same under tsx, vitest and the built package. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);
let db;
const transactions = new Map();
const subscriptions = new Map();
let nextTransaction = 1;

const errorData = (error) => {
  const data = { name: (error && error.name) || 'Error', message: String((error && error.message) || error) };
  if (error && typeof error === 'object')
    for (const key of Object.keys(error)) {
      const value = error[key];
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) data[key] = value;
    }
  return data;
};
const reply = (id, result) => parentPort.postMessage({ id, result });
const fail = (id, error) => parentPort.postMessage({ id, error: errorData(error) });

const handlers = {
  async open() {
    db = await PGlite.create(workerData.location);
  },
  async query({ sql, params, transaction }) {
    const target = transaction === undefined ? db : transactions.get(transaction)?.tx;
    if (!target) throw new Error('the transaction has ended');
    const { rows, affectedRows } = await target.query(sql, params, { rowMode: 'object' });
    return { rows, affectedRows };
  },
  begin() {
    const id = nextTransaction++;
    const entry = {};
    entry.done = new Promise((resolve, reject) => Object.assign(entry, { resolve, reject }));
    entry.done.catch(() => {});
    return new Promise((begun, refused) => {
      entry.closed = db.transaction(async (tx) => {
        entry.tx = tx;
        transactions.set(id, entry);
        begun(id);
        await entry.done;
      });
      entry.closed.catch(refused).finally(() => transactions.delete(id));
    });
  },
  async commit({ transaction }) {
    const entry = transactions.get(transaction);
    if (!entry) throw new Error('the transaction has ended');
    entry.resolve();
    await entry.closed;
  },
  async rollback({ transaction }) {
    const entry = transactions.get(transaction);
    if (!entry) return;
    entry.reject(new Error('rolled back'));
    await entry.closed.catch(() => {});
  },
  async listen({ channel, subscription }) {
    const unlisten = await db.listen(channel, (payload) =>
      parentPort.postMessage({ notify: subscription, payload }),
    );
    subscriptions.set(subscription, unlisten);
  },
  async unlisten({ subscription }) {
    const unlisten = subscriptions.get(subscription);
    subscriptions.delete(subscription);
    if (unlisten) await unlisten();
  },
  async close() {
    if (db && !db.closed) await db.close();
  },
};

parentPort.on('message', (message) => {
  Promise.resolve()
    .then(() => handlers[message.op](message))
    .then((result) => reply(message.id, result), (error) => fail(message.id, error));
});
`;

export interface PGliteQueryResult {
  rows: Record<string, unknown>[];
  affectedRows?: number;
}

interface Queryable {
  query(sql: string, params?: unknown[], options?: { rowMode?: 'object' }): Promise<PGliteQueryResult>;
}

export type EmbeddedDatabaseErrorCode = 'ERR_EMBEDDED_DATABASE_STOPPED' | 'ERR_EMBEDDED_DATABASE_CLOSED';

/** The embedded database cannot take calls: its thread stopped, or it was closed. */
export class EmbeddedDatabaseError extends OpenCaeError {
  declare readonly code: EmbeddedDatabaseErrorCode;

  constructor(code: EmbeddedDatabaseErrorCode, options?: ErrorOptions) {
    super(
      code,
      code === 'ERR_EMBEDDED_DATABASE_STOPPED'
        ? 'the embedded database thread has stopped'
        : 'the embedded database is closed',
      options,
    );
  }
}

interface Subscription {
  onNotify(payload: string): void;
  onLost?: ((error: Error) => void) | undefined;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Message = { id: number; result?: unknown; error?: Record<string, unknown> } & {
  notify?: number;
  payload?: string;
};

export class PGliteThread implements Queryable {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #subscriptions = new Map<number, Subscription>();
  #nextId = 1;
  #stopped: Error | undefined;
  #closed = false;
  readonly waitReady: Promise<void>;
  ready = false;

  private constructor(location: string) {
    const pglitePath = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { location, pglitePath } });
    this.#worker.unref();
    this.#worker.on('message', (message: Message) => this.#receive(message));
    this.#worker.on('error', (error) => this.#stop(error));
    this.#worker.on('exit', (code) => this.#stop(new Error(`exited with code ${code}`)));
    this.waitReady = this.#call('open').then(() => {
      this.ready = true;
    });
  }

  /** Starts the thread and opens the store at `location` (a folder, or `memory://`). */
  static async create(location: string): Promise<PGliteThread> {
    const thread = new PGliteThread(location);
    try {
      await thread.waitReady;
    } catch (error) {
      await thread.close().catch(() => {});
      throw error;
    }
    return thread;
  }

  get closed(): boolean {
    return this.#closed || this.#stopped !== undefined;
  }

  query(sql: string, params: unknown[] = []): Promise<PGliteQueryResult> {
    return this.#call('query', { sql, params }) as Promise<PGliteQueryResult>;
  }

  /** Runs `callback` in a transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(callback: (tx: Queryable) => Promise<T>): Promise<T> {
    const transaction = (await this.#call('begin')) as number;
    const tx: Queryable = {
      query: (sql, params = []) =>
        this.#call('query', { sql, params, transaction }) as Promise<PGliteQueryResult>,
    };
    let result: T;
    try {
      result = await callback(tx);
    } catch (error) {
      await this.#call('rollback', { transaction }).catch(() => {});
      throw error;
    }
    await this.#call('commit', { transaction });
    return result;
  }

  /**
   * Subscribes to NOTIFY on `channel`; resolves to the unsubscribe function once listening. `onLost` is
   * called if the thread stops: no notification will come any more (the directory cache then stops
   * serving entries, so reads fail rather than go on from memory).
   */
  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: (error: Error) => void,
  ): Promise<() => Promise<void>> {
    const subscription = this.#nextId++;
    this.#subscriptions.set(subscription, { onNotify, onLost });
    try {
      await this.#call('listen', { channel, subscription });
    } catch (error) {
      this.#subscriptions.delete(subscription);
      throw error;
    }
    return async () => {
      if (!this.#subscriptions.delete(subscription) || this.closed) return;
      await this.#call('unlisten', { subscription });
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#stopped) await this.#call('close', {}, true).catch(() => {});
    this.#subscriptions.clear();
    await this.#worker.terminate();
  }

  #call(op: string, fields: object = {}, evenIfClosed = false): Promise<unknown> {
    if (this.#closed && !evenIfClosed)
      return Promise.reject(new EmbeddedDatabaseError('ERR_EMBEDDED_DATABASE_CLOSED'));
    if (this.#stopped)
      return Promise.reject(
        new EmbeddedDatabaseError('ERR_EMBEDDED_DATABASE_STOPPED', { cause: this.#stopped }),
      );
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A call in flight keeps the process alive; an idle thread does not.
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ id, op, ...fields });
    });
  }

  #receive(message: Message): void {
    if (message.notify !== undefined) {
      this.#subscriptions.get(message.notify)?.onNotify(message.payload ?? '');
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (message.error) pending.reject(databaseError(message.error));
    else pending.resolve(message.result);
  }

  #stop(cause: Error): void {
    if (this.#stopped) return;
    this.#stopped = cause;
    const error = new EmbeddedDatabaseError('ERR_EMBEDDED_DATABASE_STOPPED', { cause });
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    if (this.#closed) return;
    for (const { onLost } of this.#subscriptions.values()) onLost?.(error);
    this.#subscriptions.clear();
  }
}

/** An Error carrying the database's fields (code, detail, constraint...), as PGlite throws it. */
function databaseError(data: Record<string, unknown>): Error {
  const { message, name, stack: _stack, ...fields } = data;
  const error = new Error(String(message));
  error.name = typeof name === 'string' ? name : 'Error';
  return Object.assign(error, fields);
}
