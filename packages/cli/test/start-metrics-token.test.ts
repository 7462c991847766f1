/**
 * `opencae start --metrics-token-file` / OPENCAE_METRICS_TOKEN: the token that turns on the issuer's
 * `/metrics`, read from a file (trailing newline dropped) or the environment, never printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStartConfig } from '../src/commands/start.js';
import { startBanner } from '../src/demo-tenant/tour.js';
import { UsageError } from '../src/errors.js';
import { freePort, opencae } from './cli-harness.js';

describe('the metrics token of opencae start', () => {
  const token = randomBytes(32).toString('hex');
  let dir: string;
  let tokenFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencae-metrics-'));
    tokenFile = join(dir, 'metrics-token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('comes from --metrics-token-file (without its newline), else OPENCAE_METRICS_TOKEN; none by default', () => {
    expect(resolveStartConfig({ metricsTokenFile: tokenFile }, {}).metricsToken).toBe(token);
    expect(resolveStartConfig({}, { OPENCAE_METRICS_TOKEN: 'from-the-environment' }).metricsToken).toBe(
      'from-the-environment',
    );
    expect(
      resolveStartConfig({ metricsTokenFile: tokenFile }, { OPENCAE_METRICS_TOKEN: 'env' }).metricsToken,
    ).toBe(token);
    expect(resolveStartConfig({}, {})).not.toHaveProperty('metricsToken');
    expect(resolveStartConfig({}, { OPENCAE_METRICS_TOKEN: '' })).not.toHaveProperty('metricsToken');
  });

  it('refuses a missing or empty file with a usage error', async () => {
    expect(() => resolveStartConfig({ metricsTokenFile: join(dir, 'absent') }, {})).toThrow(
      /--metrics-token-file: cannot read .*absent \(ENOENT\)/,
    );
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    expect(() => resolveStartConfig({ metricsTokenFile: empty }, {})).toThrow(UsageError);
  });

  it('is not in the start banner', () => {
    const config = resolveStartConfig({ metricsTokenFile: tokenFile, demo: false }, {});
    expect(startBanner(config, { newPasswords: [] })).not.toContain(token);
  });

  it('is listed in the help', async () => {
    expect((await opencae(['start', '--help'])).stdout).toContain('--metrics-token-file <file>');
  });

  it('turns on the issuer’s /metrics, end to end', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const scrape = (authorization?: string) =>
      fetch(url, authorization ? { headers: { authorization } } : {}).then(async (response) => ({
        status: response.status,
        body: await response.text(),
      }));
    let answers:
      | { right: Awaited<ReturnType<typeof scrape>>; wrong: Awaited<ReturnType<typeof scrape>> }
      | undefined;
    const result = await opencae(
      [
        'start',
        '--port',
        String(port),
        '--data',
        join(dir, 'data'),
        '--no-demo',
        '--metrics-token-file',
        tokenFile,
      ],
      {
        // Called once the issuer listens: scrape, then stop.
        stopSignal: async () => {
          answers = { right: await scrape(`Bearer ${token}`), wrong: await scrape('Bearer wrong-token') };
          return 'SIGTERM';
        },
      },
    );
    expect(result.code).toBe(0);
    expect(answers?.right.status).toBe(200);
    expect(answers?.right.body).toContain('# TYPE opencae_http_requests_total counter');
    expect(answers?.wrong.status).toBe(401);
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);
  });
});
