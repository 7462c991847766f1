import { CompiledQuery, sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { storageEngines } from '../../test/support/storage-engines.js';
import type { Storage } from '../storage/database.js';
import type { SignInEntry } from './sign-in-entry.js';
import { getSignIn, listSignIns, type SignInQuery, signInPageQuery } from './sign-in-log-query.js';
import { SignInLogWriter } from './sign-in-log-writer.js';
import { deleteExpiredSignIns } from './sign-in-retention.js';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const DAEMON = '33333333-3333-4333-8333-333333333333';

function entry(overrides: Partial<SignInEntry> = {}): SignInEntry {
  return {
    principal: { type: 'user', id: ALICE, name: 'alice' },
    app: { clientId: 'console', name: 'Console' },
    apiAudience: 'api://orders',
    grantType: 'authorization_code',
    issuerIp: '203.0.113.7',
    clientCapabilities: ['cp1'],
    caeToken: true,
    lifetimeSeconds: 86_400,
    result: 'success',
    correlationId: 'req-1',
    ...overrides,
  };
}

const counterValue = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted),
  );
  return sample?.value ?? 0;
};

const logger = () => ({ warn: vi.fn(), error: vi.fn() });

describe.each(storageEngines)('sign-in log on $name', (engine) => {
  let storage: Storage;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ storage, drop } = await engine.open());
  });
  afterAll(async () => {
    await storage.close();
    await drop();
  });
  beforeEach(async () => {
    await storage.db.deleteFrom('sign_in_log').execute();
  });

  describe('writer', () => {
    it('writes every recorded entry in batches and counts them', async () => {
      const registry = new Registry();
      const writer = new SignInLogWriter(storage.db, { batchSize: 3, registry });
      for (let index = 0; index < 10; index++)
        expect(writer.record(entry({ correlationId: `req-${index}` }))).toBe(true);
      await writer.flush();
      const rows = await storage.db.selectFrom('sign_in_log').select('correlation_id').execute();
      expect(rows.map((row) => row.correlation_id).sort()).toEqual(
        Array.from({ length: 10 }, (_, index) => `req-${index}`).sort(),
      );
      expect(await counterValue(registry, 'opencae_sign_in_log_written_total')).toBe(10);
      expect(writer.pending).toBe(0);
      await writer.close();
    });

    it('writes a batch bigger than PostgreSQL allows parameters for (one JSON parameter per batch)', async () => {
      // 4,000 rows × 18 columns would be 72,000 bound parameters; PostgreSQL takes at most 65,535.
      const registry = new Registry();
      const writer = new SignInLogWriter(storage.db, { batchSize: 4_000, maxQueue: 4_000, registry });
      for (let index = 0; index < 4_000; index++) writer.record(entry({ correlationId: `req-${index}` }));
      await writer.flush();
      const { count } = await storage.db
        .selectFrom('sign_in_log')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(4_000);
      expect(await counterValue(registry, 'opencae_sign_in_log_write_failures_total')).toBe(0);
      await writer.close();
    });

    it('a busy writer inserts once per interval, not a statement per entry or two', async () => {
      let inserts = 0;
      const counted = storage.db.withPlugin({
        transformQuery(args) {
          inserts++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      });
      const writer = new SignInLogWriter(counted, { flushIntervalMs: 50, registry: new Registry() });
      // 300 entries, one per millisecond: a token endpoint under steady load.
      for (let index = 0; index < 300; index++) {
        writer.record(entry({ correlationId: `busy-${index}` }));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await writer.close();
      const { count } = await storage.db
        .selectFrom('sign_in_log')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(300);
      // At least ~300 ms of recording at one flush per 50 ms: a handful of inserts, whatever the timer
      // precision; draining everything after each insert made it one insert per few entries.
      expect(inserts).toBeLessThanOrEqual(15);
    });

    it('flushes a partial batch after the interval without being asked', async () => {
      const writer = new SignInLogWriter(storage.db, { flushIntervalMs: 20, registry: new Registry() });
      writer.record(entry({ correlationId: 'timed' }));
      await vi.waitFor(
        async () => {
          const row = await storage.db.selectFrom('sign_in_log').select('id').executeTakeFirst();
          expect(row).toBeDefined();
        },
        { timeout: 5_000, interval: 20 },
      );
      await writer.close();
    });

    it('refuses entries when the queue is full: counted and warned once per interval, never silent', async () => {
      const registry = new Registry();
      const log = logger();
      const writer = new SignInLogWriter(storage.db, {
        maxQueue: 2,
        flushIntervalMs: 60_000,
        warnIntervalMs: 60_000,
        registry,
        logger: log,
      });
      const accepted = Array.from({ length: 5 }, (_, index) =>
        writer.record(entry({ correlationId: `q-${index}` })),
      );
      expect(accepted).toEqual([true, true, false, false, false]);
      expect(
        await counterValue(registry, 'opencae_sign_in_log_dropped_total', { reason: 'queue_full' }),
      ).toBe(3);
      expect(log.warn).toHaveBeenCalledTimes(1);
      expect(log.warn.mock.calls[0]?.[1]).toMatch(/queue is full/);
      await writer.close();
      const rows = await storage.db.selectFrom('sign_in_log').select('correlation_id').execute();
      expect(rows.map((row) => row.correlation_id).sort()).toEqual(['q-0', 'q-1']);
    });

    it('flushes on close and refuses (counts) entries recorded after it', async () => {
      const registry = new Registry();
      const writer = new SignInLogWriter(storage.db, { flushIntervalMs: 60_000, registry });
      writer.record(entry());
      await writer.close();
      expect(await storage.db.selectFrom('sign_in_log').select('id').execute()).toHaveLength(1);
      expect(writer.record(entry())).toBe(false);
      expect(await counterValue(registry, 'opencae_sign_in_log_dropped_total', { reason: 'closed' })).toBe(1);
    });

    it('stores hostile values verbatim where possible and never fails the batch on them', async () => {
      const writer = new SignInLogWriter(storage.db, { registry: new Registry() });
      writer.record(
        entry({
          app: { clientId: 'bad\u0000client', name: 'x'.repeat(10_000) },
          grantType: '\uD800lone',
          failureReason: 'why\u0000',
          conditionalAccess: [{ policyName: 'p\u0000', outcome: 'applied', note: '\uDC00' }],
          lifetimeSeconds: -5,
          result: 'failure',
        }),
      );
      writer.record(entry({ correlationId: 'next' }));
      await writer.close();
      const rows = await storage.db.selectFrom('sign_in_log').selectAll().orderBy('id').execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]?.client_id).toBe('bad\uFFFDclient');
      expect(rows[0]?.app_name?.length).toBeLessThanOrEqual(256);
      expect(rows[0]?.grant_type).toBe('\uFFFDlone');
      expect(rows[0]?.lifetime_seconds).toBeNull();
      expect(rows[0]?.conditional_access).toEqual([
        { policyName: 'p\uFFFD', outcome: 'applied', note: '\uFFFD' },
      ]);
    });

    it('retries a failed insert, then gives the batch up with an error and a count', async () => {
      const registry = new Registry();
      const log = logger();
      const failing = {
        insertInto: () => ({ values: () => ({ execute: () => Promise.reject(new Error('down')) }) }),
      };
      const writer = new SignInLogWriter(failing as never, {
        maxAttempts: 3,
        retryDelayMs: 1,
        registry,
        logger: log,
      });
      writer.record(entry());
      writer.record(entry());
      await writer.flush();
      expect(await counterValue(registry, 'opencae_sign_in_log_write_failures_total')).toBe(3);
      expect(
        await counterValue(registry, 'opencae_sign_in_log_dropped_total', { reason: 'write_failed' }),
      ).toBe(2);
      expect(log.warn).toHaveBeenCalledTimes(2);
      expect(log.error).toHaveBeenCalledTimes(1);
    });
  });

  describe('queries', () => {
    const base = Date.parse('2030-01-01T00:00:00.000Z');
    const at = (minutes: number) => new Date(base + minutes * 60_000);

    beforeEach(async () => {
      const writer = new SignInLogWriter(storage.db, { registry: new Registry() });
      // Three rows share a timestamp: the id breaks the tie in the keyset.
      writer.record(entry({ time: at(0), correlationId: 'a0' }));
      writer.record(entry({ time: at(1), correlationId: 'a1', caeToken: false, clientCapabilities: [] }));
      writer.record(
        entry({ time: at(2), correlationId: 'b2', principal: { type: 'guest', id: BOB, name: 'bob' } }),
      );
      writer.record(
        entry({ time: at(2), correlationId: 'b2bis', principal: { type: 'guest', id: BOB, name: 'bob' } }),
      );
      writer.record(
        entry({
          time: at(2),
          correlationId: 'd2',
          principal: { type: 'service_principal', id: DAEMON, name: 'daemon' },
          app: { clientId: 'daemon-app' },
          grantType: 'client_credentials',
          apiAudience: 'api://billing',
          caeToken: false,
        }),
      );
      writer.record(
        entry({
          time: at(3),
          correlationId: 'f3',
          result: 'failure',
          errorCode: 'invalid_grant',
          failureReason: 'the account is disabled',
          caeToken: false,
          lifetimeSeconds: undefined,
          resourceIp: '198.51.100.9',
        }),
      );
      await writer.close();
    });

    const ids = (page: { items: { correlation_id: string | null }[] }) =>
      page.items.map((item) => item.correlation_id);

    it('lists newest first with every field', async () => {
      const page = await listSignIns(storage.db);
      expect(ids(page)).toEqual(['f3', 'd2', 'b2bis', 'b2', 'a1', 'a0']);
      expect(page.next_cursor).toBeUndefined();
      const failure = page.items[0]!;
      expect(failure).toMatchObject({
        time: at(3).toISOString(),
        principal: { type: 'user', id: ALICE, name: 'alice' },
        app: { client_id: 'console', name: 'Console' },
        api_audience: 'api://orders',
        issuer_ip: '203.0.113.7',
        resource_ip: '198.51.100.9',
        client_capabilities: ['cp1'],
        cae_token: false,
        lifetime_seconds: null,
        result: 'failure',
        error_code: 'invalid_grant',
        failure_reason: 'the account is disabled',
      });
      expect(await getSignIn(storage.db, failure.id)).toEqual(failure);
    });

    it('filters by principal (id or name), app, API, CAE, result and time range', async () => {
      expect(ids(await listSignIns(storage.db, { principal: BOB }))).toEqual(['b2bis', 'b2']);
      expect(ids(await listSignIns(storage.db, { principal: BOB.toUpperCase() }))).toEqual(['b2bis', 'b2']);
      expect(ids(await listSignIns(storage.db, { principal: 'daemon' }))).toEqual(['d2']);
      expect(ids(await listSignIns(storage.db, { app: 'daemon-app' }))).toEqual(['d2']);
      expect(ids(await listSignIns(storage.db, { api: 'api://billing' }))).toEqual(['d2']);
      expect(ids(await listSignIns(storage.db, { cae: true }))).toEqual(['b2bis', 'b2', 'a0']);
      expect(ids(await listSignIns(storage.db, { cae: false }))).toEqual(['f3', 'd2', 'a1']);
      expect(ids(await listSignIns(storage.db, { result: 'failure' }))).toEqual(['f3']);
      expect(ids(await listSignIns(storage.db, { result: 'success' }))).not.toContain('f3');
      expect(ids(await listSignIns(storage.db, { from: at(1), to: at(3) }))).toEqual([
        'd2',
        'b2bis',
        'b2',
        'a1',
      ]);
      expect(ids(await listSignIns(storage.db, { principal: ALICE, cae: false }))).toEqual(['f3', 'a1']);
    });

    it('serves every filter from an index in page order (no sort), the minority values from partial ones', async () => {
      const cases: [SignInQuery, string][] = [
        [{}, 'sign_in_log_time'],
        [{ principal: BOB }, 'sign_in_log_principal_id'],
        [{ principal: 'daemon' }, 'sign_in_log_principal_name'],
        [{ app: 'daemon-app' }, 'sign_in_log_client_id'],
        [{ api: 'api://billing' }, 'sign_in_log_api'],
        [{ cae: false }, 'sign_in_log_not_cae'],
        [{ cae: true }, 'sign_in_log_time'],
        [{ result: 'failure' }, 'sign_in_log_failures'],
        [{ result: 'success' }, 'sign_in_log_time'],
      ];
      for (const [query, index] of cases) {
        const plan = await storage.db.transaction().execute(async (trx) => {
          // The table is tiny; forbid what the planner would pick over an index at this size.
          for (const setting of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort'])
            await sql.raw(`set local ${setting} = off`).execute(trx);
          const compiled = signInPageQuery(trx, query).compile();
          const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(
            CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
          );
          return rows.map((row) => row['QUERY PLAN']).join('\n');
        });
        expect(plan, JSON.stringify(query)).toMatch(new RegExp(`Index Scan using ${index} `));
        expect(plan, JSON.stringify(query)).not.toMatch(/Sort/);
      }
    });

    it('finds a request by its correlation id through its index', async () => {
      expect(ids(await listSignIns(storage.db, { correlationId: 'b2' }))).toEqual(['b2']);
      expect(ids(await listSignIns(storage.db, { correlationId: 'no-such-request' }))).toEqual([]);
      const plan = await storage.db.transaction().execute(async (trx) => {
        for (const setting of ['enable_seqscan', 'enable_bitmapscan'])
          await sql.raw(`set local ${setting} = off`).execute(trx);
        const compiled = signInPageQuery(trx, { correlationId: 'b2' }).compile();
        const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(
          CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
        );
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Index Scan using sign_in_log_correlation /);
    });

    it('pages with a cursor through ties on time without losing or repeating a row', async () => {
      const seen: (string | null)[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listSignIns(storage.db, { limit: 2, cursor });
        seen.push(...ids(page));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(['f3', 'd2', 'b2bis', 'b2', 'a1', 'a0']);
      expect(pages).toBe(3);
      const filtered = await listSignIns(storage.db, { cae: true, limit: 1 });
      const second = await listSignIns(storage.db, { cae: true, limit: 1, cursor: filtered.next_cursor });
      expect([...ids(filtered), ...ids(second)]).toEqual(['b2bis', 'b2']);
    });

    it('rejects a forged cursor, a bad limit, an empty range and an unknown id with clear errors', async () => {
      await expect(listSignIns(storage.db, { cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
        field: 'cursor',
      });
      const forged = Buffer.from(JSON.stringify({ t: 'x', i: '1' })).toString('base64url');
      await expect(listSignIns(storage.db, { cursor: forged })).rejects.toMatchObject({ field: 'cursor' });
      await expect(listSignIns(storage.db, { limit: 0 })).rejects.toMatchObject({ field: 'limit' });
      await expect(listSignIns(storage.db, { from: at(3), to: at(3) })).rejects.toMatchObject({
        field: 'from',
      });
      await expect(getSignIn(storage.db, '999999')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      await expect(getSignIn(storage.db, 'abc')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    });

    it('retention deletes entries older than the period and keeps the rest', async () => {
      const deleted = await deleteExpiredSignIns(storage.db, 1, new Date(at(2).getTime() + 24 * 3600_000));
      expect(deleted).toBe(2);
      expect(ids(await listSignIns(storage.db))).toEqual(['f3', 'd2', 'b2bis', 'b2']);
      await expect(deleteExpiredSignIns(storage.db, 0)).rejects.toThrow(RangeError);
    });
  });
});
