import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageEngines } from '../../test/support/storage-engines.js';
import { ADMIN_AUDIENCE, ADMINISTRATORS_GROUP, SSF_AUDIENCE } from '../built-in-apis.js';
import { verifyClientSecret } from '../crypto/secrets.js';
import type { Storage } from '../storage/database.js';
import { getApi } from './apis.js';
import { bootstrapDirectory } from './bootstrap.js';
import { listGrants } from './grants.js';

const issuer = 'http://127.0.0.1:8080';

describe.each(storageEngines)('directory bootstrap on $name', ({ open }) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  let dataDir: string;
  beforeAll(async () => {
    ({ storage, drop } = await open());
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-bootstrap-'));
  });
  afterAll(async () => {
    await storage?.close();
    await drop?.();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the tenant, built-in APIs and one admin app even when two replicas start at once', async () => {
    const [first, second] = await Promise.all([
      bootstrapDirectory(storage.db, { issuer, dataDir }),
      bootstrapDirectory(storage.db, { issuer, dataDir }),
    ]);
    expect(first.adminClientId).toBe(second.adminClientId);
    expect(first.tenantId).toBe(second.tenantId);
    expect(first.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect([first.credentialsFile, second.credentialsFile].filter(Boolean)).toHaveLength(1);

    const file = join(dataDir, 'admin.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(file, 'utf8'));
    expect(credentials).toEqual({
      issuer,
      client_id: first.adminClientId,
      client_secret: expect.any(String),
    });
    const secret = await storage.db
      .selectFrom('client_secrets')
      .innerJoin('applications', 'applications.id', 'client_secrets.application_id')
      .select('secret_hash')
      .where('applications.client_id', '=', first.adminClientId)
      .executeTakeFirstOrThrow();
    expect(verifyClientSecret(credentials.client_secret, secret.secret_hash)).toBe(true);

    expect(await getApi(storage.db, ADMIN_AUDIENCE)).toMatchObject({ built_in: true, app_roles: ['admin'] });
    expect(await getApi(storage.db, SSF_AUDIENCE)).toMatchObject({
      built_in: true,
      app_roles: ['ssf.manage', 'ssf.read'],
      scopes: ['ssf.manage', 'ssf.read'],
    });
    expect(await listGrants(storage.db, { application: first.adminClientId })).toMatchObject([
      { audience: ADMIN_AUDIENCE, roles: ['admin'] },
    ]);
    expect(await storage.db.selectFrom('applications').select('id').execute()).toHaveLength(1);
    const groups = await storage.db.selectFrom('groups').select(['id', 'name']).execute();
    expect(groups).toEqual([{ id: first.administratorsGroupId, name: ADMINISTRATORS_GROUP }]);
    expect(second.administratorsGroupId).toBe(first.administratorsGroupId);
  });

  it('is idempotent: a restart neither creates another admin nor rewrites admin.json', async () => {
    const file = join(dataDir, 'admin.json');
    const before = await readFile(file, 'utf8');
    await rm(file);
    const again = await bootstrapDirectory(storage.db, { issuer, dataDir });
    expect(again.credentialsFile).toBeUndefined();
    await expect(stat(file)).rejects.toThrow();
    expect(JSON.parse(before).client_id).toBe(again.adminClientId);
    const groups = await storage.db.selectFrom('groups').select('id').execute();
    expect(groups).toEqual([{ id: again.administratorsGroupId }]);
  });

  it('recreates the administrators group when it was deleted', async () => {
    const before = await bootstrapDirectory(storage.db, { issuer, dataDir });
    await storage.db.deleteFrom('groups').where('id', '=', before.administratorsGroupId).execute();
    const after = await bootstrapDirectory(storage.db, { issuer, dataDir });
    expect(after.administratorsGroupId).not.toBe(before.administratorsGroupId);
    expect(
      await storage.db
        .selectFrom('groups')
        .select('name')
        .where('id', '=', after.administratorsGroupId)
        .execute(),
    ).toEqual([{ name: ADMINISTRATORS_GROUP }]);
  });
});

describe('directory bootstrap on an in-memory store', () => {
  it('returns the admin credentials instead of writing a file under a "memory:" folder', async () => {
    const { openStorage } = await import('../storage/database.js');
    const storage = await openStorage({ dataDir: 'memory://' });
    const cwd = process.cwd();
    const workDir = await mkdtemp(join(tmpdir(), 'opencae-bootstrap-cwd-'));
    process.chdir(workDir);
    try {
      const result = await bootstrapDirectory(storage.db, { issuer, dataDir: 'memory://' });
      expect(result.credentialsFile).toBeUndefined();
      expect(result.credentials?.client_id).toBe(result.adminClientId);
      await expect(stat(join(workDir, 'memory:'))).rejects.toThrow();
    } finally {
      process.chdir(cwd);
      await storage.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
