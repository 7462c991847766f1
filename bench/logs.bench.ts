/**
 * Sign-in log queries at scale: the admin API's filtered, cursor-paginated reads over 1,000,000 rows
 * (quick mode: 50,000) on embedded PGlite, through the same query code the routes use. Each filter
 * must be served by its (filter, time desc, id desc) index (for CAE and result, a partial index on the
 * minority value, the other read from the time index), so a page costs about the rows it returns.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { listSignIns, type SignInQuery } from '../packages/issuer/src/logs/sign-in-log-query.js';
import { openStorage } from '../packages/issuer/src/storage/database.js';
import { type Benchmark, type Measurement, percentiles } from './harness.js';

const USERS = 10_000;
const APPS = 200;
const APIS = 20;
const DAYS = 30;

export default {
  name: 'logs',
  description: 'Sign-in log: filtered and paginated admin queries on PGlite (p50/p99 per query)',
  async run(ctx): Promise<Measurement[]> {
    const rows = ctx.quick ? 50_000 : 1_000_000;
    const iterations = ctx.quick ? 60 : 200;
    const storage = await openStorage({ dataDir: 'memory://' });
    try {
      const db = storage.db;
      const now = Date.parse('2030-06-01T00:00:00Z');
      const loadStart = performance.now();
      const chunk = 100_000;
      for (let offset = 0; offset < rows; offset += chunk) {
        const count = Math.min(chunk, rows - offset);
        // Users sign in ~85% of the time with CAE-capable clients; 5% of requests are refused.
        await sql`
          INSERT INTO sign_in_log (time, principal_type, principal_id, principal_name, client_id, app_name,
            api_audience, grant_type, issuer_ip, client_capabilities, cae_token, lifetime_seconds,
            conditional_access, result, error_code, failure_reason, correlation_id)
          SELECT to_timestamp(${sql.lit(now / 1000)} - (i * ${sql.lit((DAYS * 86_400) / rows)})),
                 'user', md5('user-' || (i % ${sql.lit(USERS)}))::uuid::text, 'user-' || (i % ${sql.lit(USERS)}),
                 'app-' || (i % ${sql.lit(APPS)}), 'App ' || (i % ${sql.lit(APPS)}),
                 'api://api-' || (i % ${sql.lit(APIS)}), 'refresh_token', '203.0.113.' || (i % 250),
                 CASE WHEN i % 100 < 85 THEN '["cp1"]'::jsonb ELSE '[]'::jsonb END,
                 i % 100 < 85, CASE WHEN i % 100 < 85 THEN 86400 ELSE 3600 END,
                 '[]'::jsonb,
                 CASE WHEN i % 20 = 7 THEN 'failure' ELSE 'success' END,
                 CASE WHEN i % 20 = 7 THEN 'invalid_grant' END,
                 CASE WHEN i % 20 = 7 THEN 'the account is disabled' END,
                 'req-' || i
          FROM generate_series(${sql.lit(offset)}, ${sql.lit(offset + count - 1)}) AS i`.execute(db);
      }
      await sql`ANALYZE sign_in_log`.execute(db);
      const loadSeconds = (performance.now() - loadStart) / 1000;

      const someUser = (await sql<{ id: string }>`SELECT md5('user-42')::uuid::text AS id`.execute(db))
        .rows[0]!.id;
      const middle = new Date(now - (DAYS / 2) * 86_400_000);
      const deep = await listSignIns(db, { to: middle, limit: 1 });
      const cases: Record<string, SignInQuery> = {
        'first page (no filter)': { limit: 50 },
        'page deep in the log (cursor)': { limit: 50, cursor: deep.next_cursor },
        'principal (id)': { principal: someUser, limit: 50 },
        'principal (name)': { principal: 'user-4242', limit: 50 },
        app: { app: 'app-17', limit: 50 },
        api: { api: 'api://api-3', limit: 50 },
        'CAE = no': { cae: false, limit: 50 },
        'CAE = yes (time index)': { cae: true, limit: 50 },
        'result = failure': { result: 'failure', limit: 50 },
        'result = success (time index)': { result: 'success', limit: 50 },
        'one-hour range': { from: new Date(middle.getTime() - 3_600_000), to: middle, limit: 50 },
        'principal + CAE + range': {
          principal: someUser,
          cae: true,
          from: new Date(now - 20 * 86_400_000),
          to: new Date(now - 5 * 86_400_000),
          limit: 50,
        },
      };
      const timings: Record<string, number[]> = Object.fromEntries(
        Object.keys(cases).map((name) => [name, []]),
      );
      // Warm-up, then interleave the cases so machine load hits them alike.
      for (const query of Object.values(cases)) await listSignIns(db, query);
      for (let round = 0; round < iterations; round++) {
        for (const [name, query] of Object.entries(cases)) {
          const start = performance.now();
          const page = await listSignIns(db, query);
          timings[name]!.push(performance.now() - start);
          if (page.items.length === 0) throw new Error(`the "${name}" query found nothing`);
        }
      }
      const method = `${rows.toLocaleString('en')} rows (${USERS} users, ${APPS} apps, ${APIS} APIs, ${DAYS} days) in PGlite in memory; listSignIns as the admin route calls it, page size 50; ${iterations} runs per query, interleaved, after one warm-up run`;
      const measurements: Measurement[] = [];
      for (const [name, values] of Object.entries(timings)) {
        const { 50: p50, 99: p99 } = percentiles(values, [50, 99]);
        measurements.push({
          name: `sign-ins: ${name}`,
          metric: 'p50',
          value: round(p50!),
          unit: 'ms',
          method,
        });
        measurements.push({
          name: `sign-ins: ${name}`,
          metric: 'p99',
          value: round(p99!),
          unit: 'ms',
          method,
        });
      }
      measurements.push({
        name: 'sign-ins: bulk load',
        metric: 'rows/s',
        value: Math.round(rows / loadSeconds),
        unit: 'rows/s',
        method: `INSERT … SELECT generate_series in chunks of ${chunk.toLocaleString('en')} into the indexed table (7 keyset indexes), then ANALYZE`,
      });
      return measurements;
    } finally {
      await storage.close();
    }
  },
} satisfies Benchmark;

const round = (value: number) => Math.round(value * 1000) / 1000;
