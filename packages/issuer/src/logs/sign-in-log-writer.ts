/**
 * Writes the sign-in log without slowing the token endpoint: `record()` only normalizes the entry and
 * pushes it on a bounded in-memory queue; a background flush inserts batches (when a batch is full, or
 * ~100 ms after the first queued entry). When the queue is full an entry is refused, never silently:
 * the `opencae_sign_in_log_dropped_total` counter grows and a warning is logged (at most once per
 * interval, with the count). A failed insert is retried with backoff; `close()` flushes what is left.
 */
import { sql } from 'kysely';
import { type Counter, Registry } from 'prom-client';
import { counterOn } from '../metrics/registered.js';
import type { Db } from '../storage/database.js';
import {
  SIGN_IN_ROW_COLUMNS,
  type SignInEntry,
  type SignInRow,
  signInRowsJson,
  toSignInRow,
} from './sign-in-entry.js';

export interface SignInLogLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SignInLogWriterOptions {
  /** Entries held in memory at most; beyond, `record()` refuses (counted and warned). Default 10,000. */
  maxQueue?: number;
  /** Rows per INSERT. Default 500. */
  batchSize?: number;
  /** Longest wait between `record()` and the insert of a partial batch. Default 100 ms. */
  flushIntervalMs?: number;
  /** Attempts of one batch before it is given up (counted as dropped, logged as an error). Default 5. */
  maxAttempts?: number;
  /** First retry delay after a failed insert, doubled each time up to 5 s. Default 200 ms. */
  retryDelayMs?: number;
  /** Least time between two "queue full" warnings. Default 10 s. */
  warnIntervalMs?: number;
  logger?: SignInLogLogger;
  /**
   * Where the counters are registered: the issuer's (`context.metrics`), served at `/metrics`. Default:
   * a registry of this writer's own (read through `metrics`), never prom-client's global one.
   */
  registry?: Registry;
  now?: () => Date;
}

export type DropReason = 'queue_full' | 'write_failed' | 'closed';

export interface SignInLogMetrics {
  readonly written: Counter<never>;
  readonly dropped: Counter<'reason'>;
  readonly writeFailures: Counter<never>;
}

/** The writer's counters on `registry`; writers sharing a registry share them. */
export function signInLogMetrics(registry: Registry = new Registry()): SignInLogMetrics {
  return {
    written: counterOn(registry, {
      name: 'opencae_sign_in_log_written_total',
      help: 'Sign-in log entries written',
    }),
    dropped: counterOn(registry, {
      name: 'opencae_sign_in_log_dropped_total',
      help: 'Sign-in log entries not written (queue full, repeated write failure, writer closed)',
      labelNames: ['reason'],
    }),
    writeFailures: counterOn(registry, {
      name: 'opencae_sign_in_log_write_failures_total',
      help: 'Failed sign-in log batch inserts (each is retried)',
    }),
  };
}

const silentLogger: SignInLogLogger = { warn() {}, error() {} };

export class SignInLogWriter {
  readonly metrics: SignInLogMetrics;
  readonly #db: Db;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #warnIntervalMs: number;
  readonly #logger: SignInLogLogger;
  readonly #now: () => Date;
  #queue: SignInRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #droppedSinceWarning = 0;
  #lastWarningAt = Number.NEGATIVE_INFINITY;

  constructor(db: Db, options: SignInLogWriterOptions = {}) {
    this.#db = db;
    this.#maxQueue = positive(options.maxQueue ?? 10_000, 'maxQueue');
    this.#batchSize = positive(options.batchSize ?? 500, 'batchSize');
    this.#flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 100);
    this.#maxAttempts = positive(options.maxAttempts ?? 5, 'maxAttempts');
    this.#retryDelayMs = Math.max(1, options.retryDelayMs ?? 200);
    this.#warnIntervalMs = Math.max(0, options.warnIntervalMs ?? 10_000);
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
    this.metrics = signInLogMetrics(options.registry);
  }

  /** Entries waiting to be written. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Queues an entry; returns at once. False when it was refused (queue full or writer closed), which
   * is counted and warned about. Never throws: the token endpoint must not fail because of its log.
   */
  record(entry: SignInEntry): boolean {
    if (this.#closed) {
      this.#drop('closed', 1);
      return false;
    }
    if (this.#queue.length >= this.#maxQueue) {
      this.#drop('queue_full', 1);
      return false;
    }
    let row: SignInRow;
    try {
      row = toSignInRow(entry, this.#now());
    } catch (error) {
      // Only a caller bug (e.g. a non-serializable policy result) gets here.
      this.#logger.error({ err: error }, 'sign-in log entry could not be serialized');
      this.#drop('write_failed', 1);
      return false;
    }
    this.#queue.push(row);
    if (this.#queue.length >= this.#batchSize) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.#flushIntervalMs).unref();
    return true;
  }

  /** Writes everything queued so far (and whatever is queued meanwhile). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing) {
      this.#startFlush();
      await this.#flushing;
    }
  }

  /** Refuses new entries (counted), then writes what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #startFlush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
      // Entries queued during the last insert wait at most one interval more.
      if (this.#queue.length > 0 && !this.#closed)
        this.#timer ??= setTimeout(() => this.#startFlush(), this.#flushIntervalMs).unref();
    });
  }

  /**
   * Writes what is queued when it starts; entries queued meanwhile wait for a full batch or the next
   * interval. Draining until the queue is empty would, on a busy issuer, turn into a stream of tiny
   * inserts (measured: 4 rows each at 900 tokens/s), each paying a statement and a commit.
   */
  async #drain(): Promise<void> {
    let due = this.#queue.length;
    while (this.#queue.length > 0 && (due > 0 || this.#queue.length >= this.#batchSize)) {
      const batch = this.#queue.splice(0, this.#batchSize);
      due -= batch.length;
      await this.#insert(batch);
    }
  }

  async #insert(batch: SignInRow[]): Promise<void> {
    const insert = insertSignInRows(batch);
    for (let attempt = 1; ; attempt++) {
      try {
        await insert.execute(this.#db);
        this.metrics.written.inc(batch.length);
        return;
      } catch (error) {
        this.metrics.writeFailures.inc();
        if (attempt >= this.#maxAttempts) {
          this.#logger.error(
            { err: error, entries: batch.length, attempts: attempt },
            'sign-in log batch could not be written; entries dropped',
          );
          this.#drop('write_failed', batch.length);
          return;
        }
        this.#logger.warn(
          { err: error, entries: batch.length, attempt },
          'sign-in log write failed; retrying',
        );
        await delay(Math.min(this.#retryDelayMs * 2 ** (attempt - 1), 5_000));
      }
    }
  }

  #drop(reason: DropReason, count: number): void {
    this.metrics.dropped.inc({ reason }, count);
    if (reason === 'write_failed') return; // already logged as an error with its cause
    this.#droppedSinceWarning += count;
    const now = Date.now();
    if (now - this.#lastWarningAt < this.#warnIntervalMs) return;
    this.#logger.warn(
      { dropped: this.#droppedSinceWarning, reason, queued: this.#queue.length, maxQueue: this.#maxQueue },
      reason === 'closed'
        ? 'sign-in log entries refused: the writer is closed'
        : 'sign-in log queue is full; entries dropped (see opencae_sign_in_log_dropped_total)',
    );
    this.#lastWarningAt = now;
    this.#droppedSinceWarning = 0;
  }
}

const COLUMNS = sql.raw(SIGN_IN_ROW_COLUMNS.map(([name]) => name).join(', '));
const RECORD_TYPE = sql.raw(SIGN_IN_ROW_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', '));

/**
 * One INSERT per batch with a single parameter, the rows as a JSON array the database unpacks. Binding
 * 18 parameters per row cost more than the insert itself (about 40% of the log's CPU per row on
 * PGlite, measured), and one parameter keeps any batch far from PostgreSQL's 65,535-parameter limit.
 */
function insertSignInRows(rows: readonly SignInRow[]) {
  return sql`insert into sign_in_log (${COLUMNS}) select ${COLUMNS} from jsonb_to_recordset(${signInRowsJson(rows)}::jsonb) as r(${RECORD_TYPE})`;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
