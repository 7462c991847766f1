/**
 * `opencae start --secrets-key-file` / OPENCAE_SECRETS_KEY: the key ring that encrypts the issuer's
 * secrets at rest, read from a file (trailing newline dropped) or the environment, never printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStartConfig } from '../src/commands/start.js';
import { startBanner } from '../src/demo-tenant/tour.js';
import { UsageError } from '../src/errors.js';
import { opencae } from './cli-harness.js';

describe('the secrets key of opencae start', () => {
  const ring = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
  let dir: string;
  let keyFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencae-secrets-key-'));
    keyFile = join(dir, 'secrets.key');
    await writeFile(keyFile, `${ring}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('comes from --secrets-key-file (without its newline), else OPENCAE_SECRETS_KEY; none by default', () => {
    expect(resolveStartConfig({ secretsKeyFile: keyFile }, {}).secretsKeys).toBe(ring);
    expect(resolveStartConfig({}, { OPENCAE_SECRETS_KEY: ring }).secretsKeys).toBe(ring);
    expect(
      resolveStartConfig({ secretsKeyFile: keyFile }, { OPENCAE_SECRETS_KEY: 'env:x' }).secretsKeys,
    ).toBe(ring);
    expect(resolveStartConfig({}, {})).not.toHaveProperty('secretsKeys');
    expect(resolveStartConfig({}, { OPENCAE_SECRETS_KEY: ' ' })).not.toHaveProperty('secretsKeys');
  });

  it('refuses a missing or empty file with a usage error that does not quote a key', async () => {
    expect(() => resolveStartConfig({ secretsKeyFile: join(dir, 'absent') }, {})).toThrow(
      /--secrets-key-file: cannot read .*absent \(ENOENT\)/,
    );
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    expect(() => resolveStartConfig({ secretsKeyFile: empty }, {})).toThrow(UsageError);
  });

  it('is not in the start banner, and is listed in the help', async () => {
    const config = resolveStartConfig({ secretsKeyFile: keyFile, demo: false }, {});
    expect(startBanner(config, { newPasswords: [] })).not.toContain(ring.split(',')[0]?.split(':')[1]);
    expect((await opencae(['start', '--help'])).stdout).toContain('--secrets-key-file <file>');
  });
});
