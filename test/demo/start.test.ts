/**
 * `npm start` (= `opencae start`) as a newcomer runs it: a child process on a fresh data folder, the
 * printed URLs answer, the tour's daemon commands work, SIGTERM stops the issuer and the sample API,
 * and a restart keeps the data and the demo tenant without seeding twice.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, redisUrl } from '../support/services.js';
import { type CliProcess, cleanEnv, printedUrl, runCli } from './cli-process.js';

const CONSOLE_BUILT = existsSync(
  fileURLToPath(new URL('../../packages/console/dist/index.html', import.meta.url)),
);
const CAE_CLAIMS = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

interface DemoFile {
  issuer: string;
  api: { audience: string };
  member: { id: string; username: string; password: string };
  guest: { username: string; password: string };
  daemon: { client_id: string; client_secret: string };
  policy: { id: string };
}

async function daemonToken(issuer: string, demo: DemoFile): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${demo.daemon.client_id}:${demo.daemon.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: `${demo.api.audience}/.default`,
      claims: CAE_CLAIMS,
    }),
  });
}

function portClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function stop(running: CliProcess): Promise<number | string> {
  running.child.kill('SIGTERM');
  return running.exited;
}

describe('opencae start on embedded storage', () => {
  let dataDir: string;
  let running: CliProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-start-'));
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null) await stop(running);
    await rm(dataDir, { recursive: true, force: true });
  });

  let first: { issuer: string; api: string; output: string };

  it('starts the issuer, the console and the sample API; the printed URLs answer', async () => {
    running = runCli(['start', '--data', dataDir, '--port', '0'], cleanEnv());
    const output = await running.waitFor('Press Ctrl-C to stop.', 180_000);
    const issuer = printedUrl(output, 'OpenCAE issuer listening on');
    const api = printedUrl(output, 'sample API:').replace(/\/me$/, '');
    first = { issuer, api, output };

    const discovery = await fetch(printedUrl(output, 'discovery:'));
    expect(discovery.status).toBe(200);
    expect(await discovery.json()).toMatchObject({ issuer });
    const consolePage = await fetch(printedUrl(output, 'console:'));
    expect(consolePage.status).toBe(CONSOLE_BUILT ? 200 : 503);
    await consolePage.body?.cancel();
    expect((await fetch(`${printedUrl(output, 'shared signals:')}`)).status).toBe(200);
    expect((await fetch(`${issuer}/admin/v1/openapi.json`)).status).toBe(200);

    const root = await fetch(api);
    expect(await root.json()).toMatchObject({ audience: 'api://opencae-sample' });
    const anonymous = await fetch(`${api}/me`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    const health = (await (await fetch(`${api}/health`)).json()) as Record<string, unknown>;
    expect(health.receiver).toMatchObject({ delivery: 'push', streamStatus: 'enabled' });
    expect(health.locationPolicies).toMatchObject({ loaded: true });
  });

  it('seeds the demo tenant once: demo.json mode 0600, passwords printed once', async () => {
    const file = join(dataDir, 'demo.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const demo = JSON.parse(await readFile(file, 'utf8')) as DemoFile;
    expect(demo.member.username).toBe('alice');
    expect(first.output).toContain(`password ${demo.member.password}`);
    expect(first.output).toContain(`password ${demo.guest.password}`);
    expect(first.output).not.toContain(demo.daemon.client_secret);
    expect(first.output).toContain('Sample API only from trusted locations');
  });

  it("runs the tour's daemon commands: a CAE token works until its secret is reset", async () => {
    const demo = JSON.parse(await readFile(join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
    const issued = await daemonToken(first.issuer, demo);
    expect(issued.status).toBe(200);
    const { access_token: token, expires_in: lifetime } = (await issued.json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(lifetime).toBeGreaterThan(20 * 3600 - 60);
    const accepted = await fetch(`${first.api}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ idtyp: 'app', xms_cc: ['cp1'] });
    // The printed tour command, run as printed (with the data folder of this test).
    expect(first.output).toContain(`npx opencae apps reset-secret "$CID" --data`);
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
    const reset = runCli(['apps', 'reset-secret', demo.daemon.client_id, '--data', dataDir], cleanEnv());
    expect(await reset.exited).toBe(0);
    await expect
      .poll(
        async () =>
          (await fetch(`${first.api}/me`, { headers: { authorization: `Bearer ${token}` } })).headers.get(
            'www-authenticate',
          ),
        { timeout: 10_000, interval: 20 },
      )
      .toContain('error="insufficient_claims"');
  });

  it('stops the issuer and the sample API on SIGTERM', async () => {
    expect(await stop(running!)).toBe(0);
    expect(running!.output()).toContain('stopped');
    expect(await portClosed(first.issuer)).toBe(true);
    expect(await portClosed(first.api)).toBe(true);
  });

  it('restarts on the same data: the tenant is kept, nothing seeded twice, a reset secret re-issued', async () => {
    const before = JSON.parse(await readFile(join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
    running = runCli(['start', '--data', dataDir, '--port', '0'], cleanEnv());
    const output = await running.waitFor('Press Ctrl-C to stop.', 180_000);
    const issuer = printedUrl(output, 'OpenCAE issuer listening on');
    const after = JSON.parse(await readFile(join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
    expect(after.member).toEqual(before.member);
    expect(after.policy).toEqual(before.policy);
    expect(output).not.toContain(before.member.password);
    expect(output).toContain('password in');
    // The tour reset the daemon's secret: the seed noticed demo.json's copy was revoked and re-issued it.
    expect(after.daemon.client_id).toBe(before.daemon.client_id);
    expect(after.daemon.client_secret).not.toBe(before.daemon.client_secret);
    expect((await daemonToken(issuer, after)).status).toBe(200);

    const users = runCli(['users', 'list', '--json', '--data', dataDir, '--issuer', issuer], cleanEnv());
    expect(await users.exited).toBe(0);
    const names = (JSON.parse(users.output()) as { username: string }[]).map((user) => user.username).sort();
    expect(names).toEqual(['ada', 'alice', 'gary']);
    expect(await stop(running)).toBe(0);
  });
});

const databaseServer = await postgresUrl();
const redisServer = await redisUrl();

describe.runIf(databaseServer && redisServer)('opencae start on PostgreSQL and Redis', () => {
  it('keeps the issuer in PostgreSQL and the sample API state in Redis', async () => {
    const database = await createTestDatabase(databaseServer!);
    const dataDir = await mkdtemp(join(tmpdir(), 'opencae-start-pg-'));
    const running = runCli(
      ['start', '--data', dataDir, '--port', '0'],
      cleanEnv({ DATABASE_URL: database.url, REDIS_URL: redisServer! }),
    );
    try {
      const output = await running.waitFor('Press Ctrl-C to stop.', 180_000);
      expect(output).toContain('PostgreSQL (DATABASE_URL)');
      expect(output).toContain('revocation state in Redis');
      expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
      const api = printedUrl(output, 'sample API:').replace(/\/me$/, '');
      expect((await fetch(`${api}/health`)).status).toBe(200);
      expect(await stop(running)).toBe(0);
    } finally {
      if (running.child.exitCode === null) await stop(running);
      await rm(dataDir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
