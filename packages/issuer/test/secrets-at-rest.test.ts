/**
 * Where an issuer's secrets key comes from, end to end through createIssuer: the embedded store's
 * generated key file, and replicas on one PostgreSQL (shared key, wrong key, no key).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../test/support/services.js';
import { SecretsKeyMismatchError } from '../src/crypto/secrets-at-rest.js';
import { SECRETS_KEY_FILE } from '../src/crypto/secrets-key-source.js';
import { createIssuer, type Issuer } from '../src/server.js';
import { testSecretsKey } from './support/secrets-keys.js';

const issuerUrl = 'http://127.0.0.1:8080';

async function privateJwks(issuer: Issuer): Promise<unknown[]> {
  const rows = await issuer.context.db.selectFrom('signing_keys').select('private_jwk').execute();
  return rows.map((row) => row.private_jwk);
}

function logCapture() {
  const lines: Array<{ level: number; msg: string }> = [];
  return {
    lines,
    logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
  };
}

describe('embedded store', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-secrets-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('generates <data>/secrets.key (0600) on first start and reuses it on restart', async () => {
    const first = await createIssuer({ issuerUrl, dataDir }, { modules: [] });
    const file = join(dataDir, SECRETS_KEY_FILE);
    const written = await readFile(file, 'utf8');
    const keyId = written.split(':')[0];
    try {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(first.context.secrets.current?.id).toBe(keyId);
      const [stored] = await privateJwks(first);
      expect(String(stored).startsWith(`enc:v1:${keyId}:`)).toBe(true);
    } finally {
      await first.close();
    }

    const second = await createIssuer({ issuerUrl, dataDir }, { modules: [] });
    try {
      expect(await readFile(file, 'utf8')).toBe(written);
      expect((await second.context.keys.activeKey())?.privateJwk.d).toEqual(expect.any(String));
    } finally {
      await second.close();
    }
  });
});

const serverUrl = await postgresUrl();

describe.skipIf(!serverUrl)('replicas on one PostgreSQL', () => {
  let databaseUrl: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ url: databaseUrl, drop } = await createTestDatabase(serverUrl as string));
  });
  afterAll(async () => {
    await drop?.();
  });

  it('without a key: warns once and keeps working unencrypted; with one: re-encrypts, shares, refuses the wrong one', async () => {
    const capture = logCapture();
    const unkeyed = await createIssuer({ issuerUrl, databaseUrl }, { modules: [], logger: capture.logger });
    const plaintext = (await unkeyed.context.keys.activeKey())?.privateJwk.d;
    await unkeyed.close();
    const warnings = capture.lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/secrets at rest are NOT encrypted/);

    // An upgrade: the first keyed start re-encrypts what the unkeyed one wrote; two replicas at once.
    const secretsKeys = testSecretsKey('prod-1');
    const replicas = await Promise.all([
      createIssuer({ issuerUrl, databaseUrl, secretsKeys }, { modules: [] }),
      createIssuer({ issuerUrl, databaseUrl, secretsKeys }, { modules: [] }),
    ]);
    try {
      for (const stored of await privateJwks(replicas[0])) {
        expect(String(stored).startsWith('enc:v1:prod-1:')).toBe(true);
        expect(JSON.stringify(stored)).not.toContain(String(plaintext));
      }
      for (const replica of replicas)
        expect((await replica.context.keys.activeKey())?.privateJwk.d).toBe(plaintext);

      for (const wrong of [{ secretsKeys: testSecretsKey('other') }, {}]) {
        const error = await createIssuer({ issuerUrl, databaseUrl, ...wrong }, { modules: [] }).then(
          async (issuer) => {
            await issuer.close();
            return undefined;
          },
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(SecretsKeyMismatchError);
        expect((error as Error).message).toContain('secrets key prod-1 (fingerprint ');
        expect((error as Error).message).not.toContain(testSecretsKey('prod-1').split(':')[1]);
      }
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });
});
