import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuer, directoryAdminModule, type Issuer } from '@opencae/issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintAdminToken } from '../../issuer/test/support/admin-token.js';
import { resolveStartConfig } from '../src/commands/start.js';
import { UsageError } from '../src/errors.js';
import { freePort, opencae } from './cli-harness.js';

describe('opencae usage', () => {
  it('answers --help with 0 and usage errors with 2', async () => {
    expect((await opencae(['--help'])).code).toBe(0);
    const unknown = await opencae(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const missing = await opencae(['apis', 'create']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--audience');
    expect((await opencae(['users', 'disable'])).code).toBe(2);
    expect((await opencae(['users', 'set-risk', 'alice', 'extreme', '--data', '/nonexistent'])).code).toBe(2);
    expect((await opencae(['start', '--port', 'http'])).code).toBe(2);
  });

  it('says where the credentials were looked for, with exit code 1', async () => {
    const missing = await opencae(['users', 'list', '--data', '/nonexistent/opencae']);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain('/nonexistent/opencae/admin.json');
    const noSecret = await opencae(['users', 'list', '--issuer', 'http://127.0.0.1:9']);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toContain('OPENCAE_CLIENT_ID');
    const unreachable = await opencae(['users', 'list', '--issuer', 'http://127.0.0.1:9'], {
      env: { OPENCAE_CLIENT_ID: 'a', OPENCAE_CLIENT_SECRET: 'b' },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the issuer at http:\/\/127\.0\.0\.1:9/);
  });

  it('resolves start options: flags, then environment, then defaults', () => {
    expect(resolveStartConfig({}, {})).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      issuerUrl: 'http://127.0.0.1:8080',
      devMode: true,
    });
    expect(
      resolveStartConfig(
        {},
        { PORT: '9000', OPENCAE_ISSUER_URL: 'https://id.example.com/', DATABASE_URL: 'postgres://x' },
      ),
    ).toMatchObject({
      port: 9000,
      issuerUrl: 'https://id.example.com',
      databaseUrl: 'postgres://x',
      devMode: false,
    });
    expect(
      resolveStartConfig({ port: '7000', data: '/tmp/d' }, { PORT: '9000', OPENCAE_DATA: '/tmp/e' }),
    ).toMatchObject({
      port: 7000,
      issuerUrl: 'http://127.0.0.1:7000',
      dataDir: '/tmp/d',
    });
    expect(() => resolveStartConfig({ issuerUrl: 'not a url' }, {})).toThrow(UsageError);
  });

  it('trusts X-Forwarded-* only from the proxies named with --trust-proxy', () => {
    expect(resolveStartConfig({}, {}).trustProxy).toEqual([]);
    expect(resolveStartConfig({ trustProxy: '10.0.0.5, 10.1.0.0/16,::1' }, {}).trustProxy).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
      '::1',
    ]);
    expect(resolveStartConfig({}, { OPENCAE_TRUST_PROXY: '192.168.1.1' }).trustProxy).toEqual([
      '192.168.1.1',
    ]);
    for (const bad of ['*', 'true', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1'])
      expect(() => resolveStartConfig({ trustProxy: bad }, {})).toThrow(UsageError);
  });
});

describe('opencae admin commands against a running issuer', () => {
  let issuer: Issuer;
  let dataDir: string;
  let base: string[];
  let tokenSource: () => Promise<string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-cli-'));
    // The token endpoint belongs to another module; here the admin token is minted directly.
    issuer = await createIssuer(
      { issuerUrl: 'http://issuer.test', dataDir: join(dataDir, 'store'), port: 0 },
      { modules: [directoryAdminModule()] },
    );
    const url = await issuer.listen();
    const token = await mintAdminToken(issuer.context.keys, 'http://issuer.test', 'cli-test');
    tokenSource = async () => token;
    base = ['--issuer', url];
  });
  afterAll(async () => {
    await issuer?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    opencae([...args, ...base], {
      tokenSource,
      env: { OPENCAE_CLIENT_ID: 'unused', OPENCAE_CLIENT_SECRET: 'unused' },
    });

  it('apis create / update / list', async () => {
    const created = await run(
      'apis',
      'create',
      '--audience',
      'api://orders',
      '--cae',
      '--scope',
      'read',
      '--role',
      'Orders.Read',
      '--role',
      'Orders.Write',
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/audience:\s+api:\/\/orders/);
    const json = JSON.parse((await run('apis', 'list', '--json')).stdout);
    expect(json).toContainEqual(
      expect.objectContaining({
        audience: 'api://orders',
        cae_enabled: true,
        scopes: ['read'],
        app_roles: ['Orders.Read', 'Orders.Write'],
      }),
    );
    expect((await run('apis', 'update', 'api://orders', '--no-cae')).stdout).toMatch(/cae:\s+disabled/);
    const list = await run('apis', 'list');
    expect(list.stdout).toMatch(/AUDIENCE\s+NAME\s+CAE/);
    expect(list.stdout).toContain('urn:opencae:admin');
    const duplicate = await run('apis', 'create', '--audience', 'api://orders');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('(HTTP 409)');
  });

  it('apps create prints client_id and client_secret; disable / enable / reset-secret / delete', async () => {
    const created = await run(
      'apps',
      'create',
      '--name',
      'billing-daemon',
      '--api',
      'api://orders',
      '--role',
      'Orders.Read',
      '--json',
    );
    expect(created.code).toBe(0);
    const app = JSON.parse(created.stdout);
    expect(app.client_secret.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(app.grants).toMatchObject([{ audience: 'api://orders', roles: ['Orders.Read'] }]);
    const clientId: string = app.application.client_id;

    const human = await run(
      'apps',
      'create',
      '--name',
      'receiver',
      '--ssf-receiver',
      '--redirect-uri',
      'https://app.example.com/cb',
    );
    expect(human.stdout).toMatch(/client_id:\s+[0-9a-f-]{36}/);
    expect(human.stdout).toMatch(/client_secret:\s+\S{43}/);
    expect(human.stdout).toMatch(/grant urn:opencae:ssf:\s+ssf.manage ssf.read/);

    expect((await run('apps', 'disable', clientId)).stdout).toContain(
      `Application ${clientId} disabled (security events: 1`,
    );
    expect((await run('apps', 'disable', clientId)).stdout).toContain('already disabled');
    expect((await run('apps', 'enable', clientId)).code).toBe(0);
    const reset = JSON.parse((await run('apps', 'reset-secret', clientId, '--json')).stdout);
    expect(reset.client_secret.value).not.toBe(app.client_secret.value);
    const list = await run('apps', 'list');
    expect(list.stdout).toContain('billing-daemon');
    expect((await run('apps', 'delete', clientId, '--reason', 'decommissioned')).code).toBe(0);
    expect((await run('apps', 'list')).stdout).not.toContain('billing-daemon');
    const gone = await run('apps', 'disable', clientId);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(HTTP 404)');
    expect((await run('apps', 'create', '--name', 'x', '--role', 'r')).code).toBe(2);
  });

  it('users create / list / disable / enable / reset-password / require-mfa / revoke-sessions / set-risk / delete', async () => {
    const created = await run(
      'users',
      'create',
      '--username',
      'alice',
      '--password',
      'correct horse',
      '--email',
      'alice@example.com',
    );
    expect(created.stdout).toMatch(/username:\s+alice/);
    expect((await run('users', 'create', '--username', 'gus', '--guest', '--json')).stdout).toContain(
      '"kind": "guest"',
    );
    expect((await run('users', 'disable', 'alice')).stdout).toMatch(/alice: disabled \(security events: 1/);
    expect((await run('users', 'enable', 'alice')).code).toBe(0);
    const reset = await run('users', 'reset-password', 'alice');
    expect(reset.stdout).toMatch(/temporary password: \S{16,}/);
    expect(
      (await run('users', 'reset-password', 'alice', '--password', 'another password')).stdout,
    ).not.toContain('temporary');
    expect((await run('users', 'require-mfa', 'alice')).stdout).toContain('now requires MFA');
    expect((await run('users', 'revoke-sessions', 'alice')).stdout).toContain('sessions revoked');
    expect((await run('users', 'set-risk', 'alice', 'high', '--reason', 'leaked password')).stdout).toContain(
      'risk level high',
    );
    const list = await run('users', 'list');
    expect(list.stdout).toMatch(/alice\s+member\s+alice@example.com\s+enabled\s+required\s+high/);
    const audit = JSON.parse((await run('audit', 'list', '--limit', '3', '--json')).stdout);
    expect(audit.map((entry: { action: string }) => entry.action)).toEqual([
      'user.risk.set',
      'user.sessions.revoke',
      'user.mfa.require',
    ]);
    expect(audit[0].actor).toBe('cli-test');
    expect((await run('audit', 'list', '--action', 'user.disable')).stdout).toContain('user.disable');
    expect((await run('users', 'delete', 'alice')).code).toBe(0);
    expect((await run('users', 'disable', 'alice')).code).toBe(1);
  });

  it('prints hostile values verbatim in JSON and escaped in tables', async () => {
    const hostile = "x';DROP_TABLE_users;--\u001b[2J@evil";
    expect(
      (await run('users', 'create', '--username', "Robert'); DROP TABLE users;--", '--email', hostile)).code,
    ).toBe(0);
    const json = JSON.parse((await run('users', 'list', '--json')).stdout);
    expect(json.map((user: { email: string }) => user.email)).toContain(hostile);
    const table = (await run('users', 'list')).stdout;
    expect(table).toContain("Robert'); DROP TABLE users;--");
    expect(table).toContain("x';DROP_TABLE_users;--\\u001b[2J@evil");
    expect(table).not.toContain('\u001b');
  });
});

describe('opencae start, end to end with client-credentials tokens', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts, writes admin.json, serves the admin commands, and stops on the signal', async () => {
    const port = await freePort();
    let stop!: (signal: string) => void;
    const stopped = new Promise<string>((resolve) => {
      stop = resolve;
    });
    const server = opencae(['start', '--port', String(port), '--data', dataDir, '--no-demo'], {
      stopSignal: () => stopped,
    });
    const credentials = join(dataDir, 'admin.json');
    await expect
      .poll(() => readFile(credentials, 'utf8').catch(() => ''), { timeout: 60_000, interval: 200 })
      .toContain('client_secret');
    const admin = JSON.parse(await readFile(credentials, 'utf8'));
    expect(admin.issuer).toBe(`http://127.0.0.1:${port}`);

    // Let the server finish listening before calling it.
    await expect
      .poll(
        () =>
          fetch(`${admin.issuer}/admin/v1/openapi.json`)
            .then((r) => r.status)
            .catch(() => 0),
        { timeout: 30_000 },
      )
      .toBe(200);
    const created = await opencae(['apis', 'create', '--audience', 'api://e2e', '--cae', '--data', dataDir]);
    expect(created).toMatchObject({ code: 0 });
    const viaEnv = await opencae(['apis', 'list', '--json', '--issuer', admin.issuer], {
      env: { OPENCAE_CLIENT_ID: admin.client_id, OPENCAE_CLIENT_SECRET: admin.client_secret },
    });
    expect(JSON.parse(viaEnv.stdout).map((api: { audience: string }) => api.audience)).toContain('api://e2e');
    const wrong = await opencae(['apis', 'list', '--issuer', admin.issuer], {
      env: { OPENCAE_CLIENT_ID: admin.client_id, OPENCAE_CLIENT_SECRET: 'wrong-secret' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the admin credentials');

    stop('SIGTERM');
    const result = await server;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`OpenCAE issuer listening on http://127.0.0.1:${port}`);
    expect(result.stdout).toContain(`admin API:     http://127.0.0.1:${port}/admin/v1`);
    expect(result.stdout).toContain('stopped');
    // --no-demo: the issuer alone, no demo tenant.
    expect(result.stdout).not.toContain('sample API');
    await expect(readFile(join(dataDir, 'demo.json'))).rejects.toThrow();
    await writeFile(join(dataDir, 'marker'), '');
  });
});
