import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { enqueueSecurityEvents, newTxn, SECURITY_EVENTS_CHANNEL } from '../events/outbox.js';
import { SigningKeyStore } from '../keys/signing-keys.js';
import { openStorage, type Storage } from './database.js';

const serverUrl = await postgresUrl();
const engines = [
  {
    name: 'PGlite',
    open: async () => ({ storage: await openStorage({ dataDir: 'memory://' }), drop: async () => {} }),
  },
  ...(serverUrl
    ? [
        {
          name: 'PostgreSQL',
          open: async () => {
            const database = await createTestDatabase(serverUrl);
            return { storage: await openStorage({ databaseUrl: database.url }), drop: database.drop };
          },
        },
      ]
    : []),
];

describe.each(engines)('storage on $name', ({ open }) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, drop } = await open());
  });
  afterAll(async () => {
    await storage?.close();
    await drop?.();
  });

  it('migrates to the latest schema and is idempotent on reopen', async () => {
    const tables = await storage.db.introspection.getTables();
    expect(tables.map((table) => table.name)).toEqual(
      expect.arrayContaining(['users', 'security_events', 'oidc_models']),
    );
  });

  it('writes outbox events and notifies only once the transaction commits', async () => {
    const received: string[] = [];
    const unlisten = await storage.listen(SECURITY_EVENTS_CHANNEL, (payload) => received.push(payload));
    const txn = newTxn();
    await storage.db.transaction().execute(async (trx) => {
      await enqueueSecurityEvents(trx, txn, [
        {
          eventType: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
          subject: { format: 'iss_sub', iss: 'https://issuer.test', sub: 'u1' },
          event: { reason: 'hijacking' },
          principalType: 'user',
          principalId: 'u1',
        },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toEqual([]);
    });
    await expect.poll(() => received, { timeout: 2000 }).toEqual([txn]);
    await unlisten();
  });

  it('rolls back the events with the state change', async () => {
    const txn = newTxn();
    await expect(
      storage.db.transaction().execute(async (trx) => {
        await enqueueSecurityEvents(trx, txn, [
          {
            eventType: 'x',
            subject: { format: 'opaque', id: 'a' },
            event: {},
            principalType: 'user',
            principalId: 'a',
          },
        ]);
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    const rows = await storage.db.selectFrom('security_events').selectAll().where('txn', '=', txn).execute();
    expect(rows).toEqual([]);
  });

  it('creates one signing key, rotates, and keeps the old key published until its tokens expire', async () => {
    const keys = new SigningKeyStore(storage.db);
    const [first, again] = await Promise.all([keys.ensureActiveKey(), keys.ensureActiveKey()]);
    expect(first.kid).toBe(again.kid);
    expect(first.privateJwk.d).toBeTruthy();
    const jwks = await keys.jwks();
    expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
    const prePublished = (await keys.nextKey())!;
    const second = await keys.rotate(3600, { force: true });
    // The rotation activates the key that was already published as next.
    expect(second.kid).toBe(prePublished.kid);
    expect((await keys.activeKey())?.kid).toBe(second.kid);
    const next = (await keys.nextKey())!;
    const published = (await keys.jwks()).keys.map((key) => key.kid);
    expect(published).toEqual([second.kid, next.kid, first.kid]);
    expect((await keys.publishedKeys(new Date(Date.now() + 3601_000))).map((key) => key.kid)).toEqual([
      second.kid,
      next.kid,
    ]);
  });
});
