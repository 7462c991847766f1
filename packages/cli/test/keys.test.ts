import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuer, directoryAdminModule, type Issuer, tokenServiceModule } from '@opencae/issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, opencae } from './cli-harness.js';

interface SigningKey {
  kid: string;
  state: string;
  retired_at: string | null;
  published_until: string | null;
}

describe('opencae keys against a running issuer', () => {
  let issuer: Issuer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-cli-keys-'));
    // With the token service: the CLI finds the issuer and the credentials in <data>/admin.json and
    // gets its admin token from the token endpoint, as an operator's would.
    const port = await freePort();
    issuer = await createIssuer(
      { issuerUrl: `http://127.0.0.1:${port}`, dataDir, port },
      { modules: [directoryAdminModule(), tokenServiceModule()] },
    );
    await issuer.listen();
  });
  afterAll(async () => {
    await issuer?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const run = (...args: string[]) => opencae([...args, '--data', dataDir]);

  it('keys list / keys rotate, in text and JSON; the rotation is audited', async () => {
    const before = JSON.parse((await run('keys', 'list', '--json')).stdout) as SigningKey[];
    expect(before).toMatchObject([
      { state: 'active', retired_at: null, published_until: null },
      { state: 'next', retired_at: null, published_until: null },
    ]);
    expect(JSON.stringify(before)).not.toMatch(/"(d|n|kty)"/);

    // The next key was published moments ago: without --force the rotation is refused (409).
    const refused = await run('keys', 'rotate', '--reason', 'too early');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/next signing key was published less than 5 minutes ago/);
    expect(JSON.parse((await run('keys', 'list', '--json')).stdout)).toEqual(before);

    const rotated = await run('keys', 'rotate', '--force', '--reason', 'scheduled rotation');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^Signing key rotated \(txn [0-9a-f-]{36}\)/);
    expect(rotated.stdout).toMatch(new RegExp(`active key:\\s+${before[1]!.kid}`));
    expect(rotated.stdout).toMatch(new RegExp(`retired key:\\s+${before[0]!.kid}`));
    expect(rotated.stdout).toMatch(/published until:\s+\d{4}-\d\d-\d\dT/);

    // Each call gets a fresh admin token (signed with either key: both are published). --json prints
    // the admin API's answer.
    const json = JSON.parse((await run('keys', 'rotate', '--force', '--json')).stdout) as {
      active_kid: string;
      next_kid: string;
      retired_kid: string;
      retired_published_until: string;
    };
    const keys = JSON.parse((await run('keys', 'list', '--json')).stdout) as SigningKey[];
    expect(keys.map((key) => key.state)).toEqual(['active', 'next', 'retired', 'retired']);
    expect(keys[0]!.kid).toBe(json.active_kid);
    expect(keys[1]!.kid).toBe(json.next_kid);
    expect(keys[2]).toMatchObject({ kid: json.retired_kid, published_until: json.retired_published_until });
    expect(keys[3]!.kid).toBe(before[0]!.kid);

    const table = (await run('keys', 'list')).stdout;
    expect(table).toMatch(/^KID\s+ALG\s+STATE\s+PUBLISHED_AT\s+RETIRED_AT\s+PUBLISHED_UNTIL\n/);
    expect(table).toMatch(new RegExp(`${json.active_kid}\\s+RS256\\s+active\\s+\\S+\\s+-\\s+-`));
    expect(table).toMatch(new RegExp(`${json.next_kid}\\s+RS256\\s+next\\s+\\S+\\s+-\\s+-`));

    const audit = JSON.parse((await run('audit', 'list', '--action', 'signing_key.rotate', '--json')).stdout);
    expect(audit).toHaveLength(2);
    expect(audit[1]).toMatchObject({
      target_id: keys[2]!.kid,
      after: { reason: 'scheduled rotation', forced: true },
    });
  });

  it('answers usage errors with 2', async () => {
    expect((await run('keys', 'rotate', '--kid', 'mine')).code).toBe(2);
    expect((await run('keys', 'rotate', '--reason')).code).toBe(2);
  });
});
