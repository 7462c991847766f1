/**
 * Service-backed test suites (PostgreSQL, Redis) run for real when the service is reachable.
 * Without it they skip with a visible message; in CI (OPENCAE_REQUIRE_SERVICES=1) a missing
 * service is a failure, never a silent skip.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

const required = process.env.OPENCAE_REQUIRE_SERVICES === '1';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function probe(name: string, variable: string, defaultPort: number): Promise<string | undefined> {
  const url = process.env[variable];
  const why = !url
    ? `${variable} is not set`
    : !(await reachable(url, defaultPort))
      ? `${url} is unreachable`
      : '';
  if (!why) return url;
  if (required) throw new Error(`${name} is required (OPENCAE_REQUIRE_SERVICES=1) but ${why}`);
  console.warn(`\n  SKIPPED: ${name}-backed suites — ${why}. Set ${variable} to run them.\n`);
  return undefined;
}

let postgres: Promise<string | undefined> | undefined;
let redis: Promise<string | undefined> | undefined;

/** The PostgreSQL server URL, or undefined (with a visible warning) when there is none. */
export function postgresUrl(): Promise<string | undefined> {
  postgres ??= probe('PostgreSQL', 'DATABASE_URL', 5432);
  return postgres;
}

/** The Redis URL, or undefined (with a visible warning) when there is none. */
export function redisUrl(): Promise<string | undefined> {
  redis ??= probe('Redis', 'REDIS_URL', 6379);
  return redis;
}

/** A fresh, empty database on the PostgreSQL server, so parallel suites never share state. */
export async function createTestDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `opencae_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
