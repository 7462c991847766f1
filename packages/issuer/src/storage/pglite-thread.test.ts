import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PGliteThread } from './pglite-thread.js';

// The real Worker, with each instance recorded so a test can stop a thread as a crash would.
const workers = vi.hoisted(() => [] as import('node:worker_threads').Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...original, Worker: RecordedWorker };
});

describe('PGlite on its own thread', () => {
  let db: PGliteThread;

  beforeAll(async () => {
    db = await PGliteThread.create('memory://');
    await db.query('create table items (id int primary key, name text not null, at timestamptz, data jsonb)');
  });
  afterAll(async () => {
    await db.close();
  });

  it('returns rows with their types (dates, JSON, numbers) and affected row counts', async () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    const insert = await db.query('insert into items values ($1, $2, $3, $4), ($5, $6, $3, $4)', [
      1,
      'one',
      at,
      JSON.stringify({ a: [1, 2] }),
      2,
      'two',
    ]);
    expect(insert.affectedRows).toBe(2);
    const { rows } = await db.query('select id, name, at, data from items order by id');
    expect(rows).toEqual([
      { id: 1, name: 'one', at, data: { a: [1, 2] } },
      { id: 2, name: 'two', at, data: { a: [1, 2] } },
    ]);
    expect(rows[0]!.at).toBeInstanceOf(Date);
  });

  it('rejects with the database error fields (SQLSTATE code, constraint), so callers can tell why', async () => {
    const error = await db.query("insert into items values (1, 'again')").catch((caught) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: '23505', constraint: 'items_pkey' });
    expect(error.message).toMatch(/duplicate key/);
    const syntax = await db.query('selec 1').catch((caught) => caught);
    expect(syntax).toMatchObject({ code: '42601' });
  });

  it('commits a transaction whose callback resolves and rolls back one that throws', async () => {
    await db.transaction(async (tx) => {
      await tx.query("insert into items (id, name) values (10, 'kept')");
    });
    const failed = db.transaction(async (tx) => {
      await tx.query("insert into items (id, name) values (11, 'dropped')");
      throw new Error('changed my mind');
    });
    await expect(failed).rejects.toThrow('changed my mind');
    const { rows } = await db.query('select id from items where id in (10, 11) order by id');
    expect(rows).toEqual([{ id: 10 }]);
  });

  it('a query outside a transaction waits for it, as on one connection', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const transaction = db.transaction(async (tx) => {
      await tx.query("insert into items (id, name) values (20, 'inside')");
      await held;
      order.push('commit');
    });
    // Let the transaction begin before the outside query is sent.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outside = db.query('select count(*)::int as n from items where id = 20').then((result) => {
      order.push('outside');
      return result.rows[0];
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await transaction;
    expect(await outside).toEqual({ n: 1 });
    expect(order).toEqual(['commit', 'outside']);
  });

  it('delivers notifications until unsubscribed', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('changes', (payload) => received.push(payload));
    await db.query("select pg_notify('changes', 'first')");
    await expect.poll(() => received).toEqual(['first']);
    await unlisten();
    await db.query("select pg_notify('changes', 'second')");
    await db.query('select 1');
    expect(received).toEqual(['first']);
  });

  it('refuses calls once closed with a clear error', async () => {
    const other = await PGliteThread.create('memory://');
    await other.close();
    expect(other.closed).toBe(true);
    await expect(other.query('select 1')).rejects.toMatchObject({
      code: 'ERR_EMBEDDED_DATABASE_CLOSED',
      message: 'the embedded database is closed',
    });
    await other.close(); // idempotent
  });

  it('when the thread dies: pending and later calls fail with a code, subscribers are told', async () => {
    const other = await PGliteThread.create('memory://');
    const thread = workers.at(-1)!;
    const lost: Error[] = [];
    await other.listen(
      'changes',
      () => {},
      (error) => lost.push(error),
    );
    const pending = other.query('select pg_sleep(0.5)');
    await thread.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_EMBEDDED_DATABASE_STOPPED' });
    await expect(other.query('select 1')).rejects.toMatchObject({ code: 'ERR_EMBEDDED_DATABASE_STOPPED' });
    expect(lost.map((error) => (error as { code?: string }).code)).toEqual(['ERR_EMBEDDED_DATABASE_STOPPED']);
    expect(other.closed).toBe(true);
    await other.close();
  });

  it('a store that cannot be opened fails with the reason', async () => {
    await expect(PGliteThread.create('/proc/opencae-cannot-create-this')).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringContaining('/proc/opencae-cannot-create-this'),
    });
  });
});
