/**
 * One storage layer over two engines: embedded PGlite (default, a folder on disk) or PostgreSQL
 * (DATABASE_URL). Both speak the same SQL, transactions, SKIP LOCKED and LISTEN/NOTIFY.
 */
import { mkdir } from 'node:fs/promises';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate.js';
import { PGliteThread } from './pglite-thread.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface Storage {
  readonly db: Db;
  readonly engine: 'pglite' | 'postgres';
  /**
   * Subscribes to a NOTIFY channel; resolves once listening. Returns the unsubscribe function.
   * `onLost` is called (once) when the subscription ends without being unsubscribed, e.g. the
   * PostgreSQL listener connection dropped: notifications may have been missed from then on.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    options?: ListenOptions,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface ListenOptions {
  onLost?: (error: Error | undefined) => void;
}

export interface StorageOptions {
  /** PostgreSQL connection string; when absent the embedded PGlite store in `dataDir` is used. */
  databaseUrl?: string;
  /** Folder of the embedded store; `memory://` keeps it in memory (tests). */
  dataDir?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** Opens the store and brings its schema to the latest migration. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolSize ?? 10)
    : await openPglite(options.dataDir ?? 'memory://');
  try {
    await migrateToLatest(storage.db);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

async function openPglite(dataDir: string): Promise<Storage> {
  const location = dataDir.startsWith('memory://') ? dataDir : `${dataDir}/pgdata`;
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // On a thread of its own, so queries never stall the requests the event loop is serving.
  const pglite = await PGliteThread.create(location);
  // The dialect uses only query() and transaction(), which PGliteThread provides.
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: pglite as never }) });
  return {
    db,
    engine: 'pglite',
    async listen(channel, onNotify, options) {
      const unlisten = await pglite.listen(channel, onNotify, options?.onLost);
      return () => unlisten();
    },
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

function openPostgres(connectionString: string, max: number): Storage {
  const pool = new pg.Pool({ connectionString, max });
  // A broken idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const listeners = new Set<pg.Client>();
  let closed = false;
  return {
    db,
    engine: 'postgres',
    async listen(channel, onNotify, options) {
      if (closed) throw new Error('the storage is closed');
      // LISTEN needs a dedicated connection that stays open.
      const client = new pg.Client({ connectionString });
      let ended = false;
      const lost = (error?: Error) => {
        if (ended || closed) return;
        ended = true;
        listeners.delete(client);
        options?.onLost?.(error);
      };
      client.on('error', (error) => lost(error));
      client.on('end', () => lost());
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === channel) onNotify(message.payload ?? '');
        });
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        ended = true;
        await client.end().catch(() => {});
        throw error;
      }
      listeners.add(client);
      return async () => {
        ended = true;
        listeners.delete(client);
        await client.end().catch(() => {});
      };
    },
    async close() {
      closed = true;
      await Promise.all([...listeners].map((client) => client.end().catch(() => {})));
      listeners.clear();
      await db.destroy();
    },
  };
}

/** Sends a notification; inside a transaction it is delivered on commit, never before. */
export async function notify(db: Db, channel: string, payload = ''): Promise<void> {
  await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
}
