/** Unit tests of the start options, the demo's report, its narrators, the tour and demo.json. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveStartConfig, withConcretePort } from '../src/commands/start.js';
import { lineNarrator } from '../src/demo/narrators.js';
import { stepResult, totals } from '../src/demo/steps.js';
import { type DemoTenant, readDemoFile, writeDemoFile } from '../src/demo-tenant/demo-file.js';
import { startBanner } from '../src/demo-tenant/tour.js';
import { CliError, UsageError } from '../src/errors.js';
import type { CliIo } from '../src/io.js';
import { opencae } from './cli-harness.js';

describe('start options', () => {
  it('runs the sample API on the next port and the demo on a loopback issuer by default', () => {
    const config = resolveStartConfig({}, {});
    expect(config).toMatchObject({ port: 8080, apiPort: 8081, demo: true, devMode: true });
    expect(resolveStartConfig({ port: '0' }, {})).toMatchObject({ port: 0, apiPort: 0 });
    expect(resolveStartConfig({ apiPort: '9000' }, { OPENCAE_API_PORT: '9001' }).apiPort).toBe(9000);
    expect(resolveStartConfig({}, { OPENCAE_API_PORT: '9001' }).apiPort).toBe(9001);
    expect(resolveStartConfig({ demo: false }, {}).demo).toBe(false);
    expect(resolveStartConfig({}, { REDIS_URL: 'redis://r:6379' }).redisUrl).toBe('redis://r:6379');
  });

  it('has no demo tenant behind a public issuer URL, and refuses to seed one there', () => {
    expect(resolveStartConfig({ issuerUrl: 'https://id.example.com' }, {}).demo).toBe(false);
    expect(() => resolveStartConfig({ issuerUrl: 'https://id.example.com', demo: true }, {})).toThrow(
      UsageError,
    );
  });

  it('rejects bad ports with a usage error', () => {
    expect(() => resolveStartConfig({ apiPort: 'x' }, {})).toThrow(UsageError);
    expect(() => resolveStartConfig({ port: '65535' }, {})).toThrow(/api-port/);
  });

  it('turns port 0 into a free port before the issuer URL is fixed', async () => {
    const config = await withConcretePort({ port: '0' }, { PORT: '1234' });
    expect(config.port).toBeGreaterThan(0);
    expect(config.issuerUrl).toBe(`http://127.0.0.1:${config.port}`);
    expect(config.apiPort).toBe(0);
  });

  it('documents the new options in the help', async () => {
    const top = await opencae(['--help']);
    expect(top.stdout).toMatch(/demo \[options\]\s+run the CAE scenario/);
    const start = await opencae(['start', '--help']);
    for (const flag of ['--api-port', '--no-demo', '--demo', '--port', '--data', '--database-url'])
      expect(start.stdout).toContain(flag);
    const demo = await opencae(['demo', '--help']);
    expect(demo.stdout).toContain('--json');
    expect(demo.stdout).toContain('--keep');
  });
});

describe('demo report', () => {
  const step = { name: 's', title: 'S', expected: 'enforced' as const };

  it('passes a step only with its expected outcome and rounds to 0.1 ms', () => {
    expect(stepResult(step, 'enforced', 12.345, {})).toMatchObject({ passed: true, ms: 12.3 });
    expect(stepResult(step, 'not_enforced', null, {})).toMatchObject({ passed: false, ms: null });
  });

  it('sums up: failures, unavailable steps apart, median of the measured times', () => {
    const results = [
      stepResult(step, 'enforced', 10, {}),
      stepResult(step, 'enforced', 40, {}),
      stepResult(step, 'enforced', 20, {}),
      stepResult(step, 'enforced', 30, {}),
      stepResult({ ...step, expected: 'refused' }, 'not_available', null, {}),
      stepResult(step, 'error', null, {}),
    ];
    expect(totals(results, 1234.4, 5678.9)).toEqual({
      steps: 6,
      passed: 4,
      failed: 1,
      notAvailable: 1,
      enforcementMs: { min: 10, median: 25, max: 40 },
      startupMs: 1234,
      totalMs: 5679,
    });
    expect(totals([], 0, 0).enforcementMs).toBeNull();
  });

  it('narrates in plain lines outside a terminal, with control characters escaped', () => {
    let out = '';
    const io: CliIo = { stdout: (text) => (out += text), stderr: () => {}, env: {}, fetch };
    const narrator = lineNarrator(io);
    narrator.begin('A step');
    narrator.note('evil \u001b[2J name');
    narrator.end(stepResult(step, 'enforced', 3.21, {}));
    narrator.end(stepResult(step, 'error', null, { error: 'boom' }));
    expect(out).toContain('1. A step');
    expect(out).toContain('evil \\u001b[2J name');
    expect(out).not.toContain('\u001b');
    expect(out).toContain('✔  S: enforced  3.2 ms');
    expect(out).toContain('✘  S: error');
    expect(out).toContain('boom');
  });
});

const tenant: DemoTenant = {
  issuer: 'http://127.0.0.1:8080',
  api: { audience: 'api://opencae-sample', scope: 'Sample.Read', role: 'Sample.Read.All' },
  member: { id: 'm', username: 'alice', password: 'alice-password', kind: 'member' },
  guest: { id: 'g', username: 'gary', password: 'gary-password', kind: 'guest' },
  administrator: { id: 'a', username: 'ada', password: 'ada-password', kind: 'member' },
  daemon: { client_id: 'daemon-id', client_secret: 'daemon-secret' },
  receiver: { client_id: 'receiver-id', client_secret: 'receiver-secret' },
  web_app: { client_id: 'web-id', client_secret: 'web-secret', redirect_uri: 'http://127.0.0.1:9/callback' },
  named_location: { id: 'l', name: 'Office' },
  policy: { id: 'p', name: 'Policy' },
};

describe('the start banner', () => {
  const config = resolveStartConfig({ data: '/srv/opencae' }, {});
  const api = { url: 'http://127.0.0.1:8081' } as never;

  it('prints new passwords once, never a client secret, and copy-paste commands', () => {
    const first = startBanner(config, { tenant, api, newPasswords: [tenant.member, tenant.guest] });
    expect(first).toContain('password alice-password  (shown once');
    expect(first).toContain('password gary-password');
    for (const secret of ['daemon-secret', 'receiver-secret', 'web-secret'])
      expect(first).not.toContain(secret);
    expect(first).toContain(`require('/srv/opencae/demo.json').daemon.client_secret`);
    expect(first).toContain('http://127.0.0.1:8081/me');
    expect(first).toContain('http://127.0.0.1:8080/console/');
    const again = startBanner(config, { tenant, api, newPasswords: [] });
    expect(again).not.toContain('alice-password');
    expect(again).toContain('password in /srv/opencae/demo.json');
  });

  it('without the demo, shows the issuer alone', () => {
    const text = startBanner(resolveStartConfig({ demo: false }, {}), { newPasswords: [] });
    expect(text).toContain('OpenCAE issuer listening on http://127.0.0.1:8080');
    expect(text).not.toContain('sample API');
    expect(text).not.toContain('Demo tenant');
  });
});

describe('demo.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencae-demo-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written with mode 0600 and read back; missing means empty', async () => {
    expect(await readDemoFile(dir)).toEqual({});
    await writeDemoFile(dir, tenant);
    expect((await stat(join(dir, 'demo.json'))).mode & 0o777).toBe(0o600);
    expect(await readDemoFile(dir)).toEqual(tenant);
    expect(JSON.parse(await readFile(join(dir, 'demo.json'), 'utf8')).member.password).toBe('alice-password');
  });

  it('says how to recover from a corrupt file', async () => {
    await writeFile(join(dir, 'demo.json'), '{not json');
    await expect(readDemoFile(dir)).rejects.toThrow(CliError);
    await expect(readDemoFile(dir)).rejects.toThrow(/fix or delete it/);
  });
});
