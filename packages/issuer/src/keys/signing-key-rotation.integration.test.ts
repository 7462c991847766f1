/**
 * Signing key rotation as an operator runs it: through the admin API, on a real issuer (admin API and
 * token service), on PGlite and, when DATABASE_URL is set, on PostgreSQL with two replicas sharing the
 * database.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintAccessToken, mintAdminToken } from '../../test/support/admin-token.js';
import { storageEngines } from '../../test/support/storage-engines.js';
import { directoryAdminModule } from '../admin-api/module.js';
import { ADMIN_AUDIENCE } from '../built-in-apis.js';
import { createIssuer, type Issuer } from '../server.js';
import { loadSigningKeys } from '../token-service/signing-key-sync.js';
import { type SeededApp, seedApi, seedApplication } from '../token-service/test-fixtures.js';
import { tokenServiceModule } from '../token-service/token-service-module.js';
import { generateSigningKey, NEXT_KEY_SAFETY_SECONDS, SigningKeyStore } from './signing-keys.js';

const ISSUER = 'https://issuer.opencae.test';
const HOURS_28 = 28 * 3600 * 1000;

interface Replica {
  issuer: Issuer;
  url: string;
}

interface SigningKeyInfo {
  kid: string;
  state: string;
  created_at: string;
  published_at: string;
  activated_at: string | null;
  retired_at: string | null;
  published_until: string | null;
}

describe.each(storageEngines)('signing key rotation through the admin API on $name', ({ name, open }) => {
  let folder: string;
  let drop: () => Promise<void>;
  let first: Replica;
  /** A second replica on the same database (PostgreSQL only: PGlite is one process's store). */
  let second: Replica | undefined;
  let adminClientId: string;
  let adminToken: string;
  let app: SeededApp;

  async function startReplica(databaseUrl: string | undefined): Promise<Replica> {
    const issuer = await createIssuer(
      { issuerUrl: ISSUER, dataDir: join(folder, 'data'), databaseUrl, port: 0 },
      { modules: [directoryAdminModule(), tokenServiceModule()] },
    );
    return { issuer, url: await issuer.listen() };
  }

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'opencae-keys-'));
    // Only the storage's URL is used: each replica opens its own connection.
    const engine = await open();
    await engine.storage.close();
    drop = engine.drop;
    first = await startReplica(engine.databaseUrl);
    if (engine.databaseUrl) second = await startReplica(engine.databaseUrl);
    const credentials = JSON.parse(await readFile(join(folder, 'data', 'admin.json'), 'utf8')) as {
      client_id: string;
      client_secret: string;
    };
    adminClientId = credentials.client_id;
    // A real admin token from the token endpoint, signed with the key active before any rotation.
    adminToken = await clientCredentials(
      first,
      credentials.client_id,
      credentials.client_secret,
      `${ADMIN_AUDIENCE}/.default`,
    );
    const db = first.issuer.context.db;
    const api = await seedApi(db, { audience: 'api://orders', caeEnabled: true, appRoles: ['Orders.Read'] });
    app = await seedApplication(db, { grants: [{ api, roles: ['Orders.Read'] }] });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await second?.issuer.close();
    await first?.issuer.close();
    await drop?.();
    await rm(folder, { recursive: true, force: true });
  });

  async function clientCredentials(replica: Replica, id: string, secret: string, scope: string) {
    const response = await fetch(`${replica.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  const apiToken = (replica: Replica) =>
    clientCredentials(replica, app.clientId, app.clientSecret!, 'api://orders/.default');

  async function admin(
    replica: Replica,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token = adminToken,
  ) {
    const response = await replica.issuer.app.inject({
      method,
      url: `/admin/v1${path}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: response.statusCode, json: response.json(), raw: response.body };
  }

  const listKeys = async (replica = first) =>
    (await admin(replica, 'GET', '/signing-keys')).json.items as SigningKeyInfo[];

  async function jwks(replica: Replica): Promise<JSONWebKeySet> {
    const response = await replica.issuer.app.inject({ method: 'GET', url: '/jwks' });
    return response.json();
  }

  async function verify(replica: Replica, jwt: string) {
    return jwtVerify(jwt, createLocalJWKSet(await jwks(replica)), {
      issuer: ISSUER,
      audience: 'api://orders',
      typ: 'at+jwt',
    });
  }

  it('lists the keys with their public facts only: the active key and the pre-published next key', async () => {
    const response = await admin(first, 'GET', '/signing-keys');
    expect(response.status).toBe(200);
    const [key, next, ...others] = response.json.items as SigningKeyInfo[];
    expect(others).toEqual([]);
    expect(Object.keys(key!).sort()).toEqual(
      [
        'activated_at',
        'alg',
        'created_at',
        'kid',
        'published_at',
        'published_until',
        'retired_at',
        'state',
      ].sort(),
    );
    expect(key).toMatchObject({ alg: 'RS256', state: 'active', retired_at: null, published_until: null });
    expect(key!.kid).toBe(decodeProtectedHeader(adminToken).kid);
    expect(next).toMatchObject({ alg: 'RS256', state: 'next', activated_at: null, retired_at: null });
    expect(Date.parse(next!.published_at)).toBeLessThanOrEqual(Date.now());
    // No JWK member (modulus, private exponent, primes) reaches the answer.
    expect(response.raw).not.toMatch(/"(d|n|e|p|q|dp|dq|qi|kty)"/);
  });

  it('refuses a token without the admin role (403), and rotates nothing', async () => {
    const reader = await mintAccessToken(first.issuer.context.keys, { issuer: ISSUER, roles: ['reader'] });
    expect((await admin(first, 'POST', '/signing-keys/rotate', {}, reader)).status).toBe(403);
    expect((await admin(first, 'GET', '/signing-keys', undefined, reader)).status).toBe(403);
    expect(await listKeys()).toHaveLength(2);
  });

  it('publishes the active key and the next key before any rotation; only the active key signs', async () => {
    const [active, next] = await listKeys();
    expect((await jwks(first)).keys.map((key) => key.kid)).toEqual([active!.kid, next!.kid]);
    if (second)
      expect((await listKeys(second)).map((key) => [key.kid, key.state])).toEqual([
        [active!.kid, 'active'],
        [next!.kid, 'next'],
      ]);
    expect(decodeProtectedHeader(await apiToken(first)).kid).toBe(active!.kid);
    if (second) expect(decodeProtectedHeader(await apiToken(second)).kid).toBe(active!.kid);
  });

  it('refuses (409) a rotation while the next key is too recently published, saying when it is safe', async () => {
    const before = await listKeys();
    const response = await admin(first, 'POST', '/signing-keys/rotate', { reason: 'too early' });
    expect(response.status).toBe(409);
    expect(response.json.error).toBe('conflict');
    const safeAt = new Date(Date.parse(before[1]!.published_at) + NEXT_KEY_SAFETY_SECONDS * 1000);
    expect(response.json.error_description).toContain(safeAt.toISOString());
    expect(response.json.error_description).toMatch(/force/);
    expect(await listKeys()).toEqual(before);
    expect((await admin(first, 'GET', '/audit-log?action=signing_key.rotate')).json.items).toHaveLength(0);
  });

  it('validates the body', async () => {
    const response = await admin(first, 'POST', '/signing-keys/rotate', { reason: 'x', kid: 'mine' });
    expect(response.status).toBe(400);
    expect((await admin(first, 'POST', '/signing-keys/rotate', { force: 'yes' })).status).toBe(400);
    expect(await listKeys()).toHaveLength(2);
  });

  it('rotates (forced): new tokens carry the previous next kid, and verify with a JWKS fetched before the rotation', async () => {
    const [original, prePublished] = await listKeys();
    const before = await apiToken(first);
    expect(decodeProtectedHeader(before).kid).toBe(original!.kid);
    // What an API holds when the rotation happens: the JWKS it fetched earlier, not refetched since.
    const cachedJwks = createLocalJWKSet(await jwks(first));

    const response = await admin(first, 'POST', '/signing-keys/rotate', {
      reason: 'scheduled rotation',
      force: true,
    });
    expect(response.status).toBe(200);
    const rotation = response.json as {
      active_kid: string;
      next_kid: string;
      retired_kid: string;
      retired_published_until: string;
      txn: string;
    };
    expect(rotation.retired_kid).toBe(original!.kid);
    expect(rotation.active_kid).toBe(prePublished!.kid);
    expect(rotation.next_kid).not.toBe(prePublished!.kid);

    const keys = await listKeys();
    expect(keys.map((key) => [key.kid, key.state])).toEqual([
      [rotation.active_kid, 'active'],
      [rotation.next_kid, 'next'],
      [original!.kid, 'retired'],
    ]);
    // Published since it was created as next; activated now.
    expect(keys[0]!.published_at).toBe(prePublished!.published_at);
    expect(keys[0]!.activated_at).not.toBeNull();
    const retired = keys[2]!;
    expect(retired.published_until).toBe(rotation.retired_published_until);
    // The longest token lifetime of the default configuration: 28 h (CAE).
    expect(Date.parse(retired.published_until!) - Date.parse(retired.retired_at!)).toBe(HOURS_28);

    expect((await jwks(first)).keys.map((key) => key.kid)).toEqual([
      rotation.active_kid,
      rotation.next_kid,
      original!.kid,
    ]);
    // The provider is rebuilt on the change notification, sent by this replica to itself as well.
    await expect
      .poll(async () => decodeProtectedHeader(await apiToken(first)).kid, { timeout: 10_000 })
      .toBe(rotation.active_kid);
    const after = await apiToken(first);
    await expect(verify(first, after)).resolves.toBeDefined();
    await expect(verify(first, before)).resolves.toBeDefined();
    // The point of the next key: an API that has not refetched the JWKS accepts the new tokens.
    await expect(
      jwtVerify(after, cachedJwks, { issuer: ISSUER, audience: 'api://orders', typ: 'at+jwt' }),
    ).resolves.toBeDefined();

    // The admin token signed with the retired key is still accepted, and the entry names its client.
    const audit = await admin(first, 'GET', '/audit-log?action=signing_key.rotate');
    expect(audit.status).toBe(200);
    expect(audit.json.items).toHaveLength(1);
    expect(audit.json.items[0]).toMatchObject({
      actor: adminClientId,
      action: 'signing_key.rotate',
      target_type: 'signing_key',
      target_id: rotation.active_kid,
      txn: rotation.txn,
      before: { active_kids: [original!.kid] },
      after: {
        active_kid: rotation.active_kid,
        next_kid: rotation.next_kid,
        forced: true,
        retired: [{ kid: original!.kid, published_until: rotation.retired_published_until }],
        reason: 'scheduled rotation',
      },
    });
  });

  it.skipIf(name !== 'PostgreSQL')(
    'a rotation on one replica is used by the other after the change notification',
    async () => {
      const replica = second!;
      const before = await apiToken(replica);
      const response = await admin(first, 'POST', '/signing-keys/rotate', { force: true });
      expect(response.status).toBe(200);
      const { active_kid: kid, retired_kid } = response.json as { active_kid: string; retired_kid: string };
      await expect
        .poll(async () => decodeProtectedHeader(await apiToken(replica)).kid, { timeout: 10_000 })
        .toBe(kid);
      expect((await jwks(replica)).keys.map((key) => key.kid)).toEqual(
        expect.arrayContaining([kid, retired_kid]),
      );
      await expect(verify(first, await apiToken(replica))).resolves.toBeDefined();
      await expect(verify(replica, before)).resolves.toBeDefined();
      expect((await listKeys(replica))[0]).toMatchObject({ kid, state: 'active' });
    },
  );

  it.skipIf(name !== 'PostgreSQL')(
    'a rotation that overlaps another waits for it instead of adding a second active key',
    async () => {
      const { db, keys } = first.issuer.context;
      const [nextA, nextB] = await Promise.all([generateSigningKey(), generateSigningKey()]);
      const options = { publishForSeconds: 3600, force: true };
      // Rotation A is done but not committed until released; B starts on another connection meanwhile.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let rotatedA!: () => void;
      const aRotated = new Promise<void>((resolve) => {
        rotatedA = resolve;
      });
      const a = db.transaction().execute(async (trx) => {
        const rotation = await keys.rotateWithin(trx, nextA, options);
        rotatedA();
        await held;
        return rotation;
      });
      await aRotated;
      const b = keys.rotateWithin(db, nextB, options);
      // B is blocked behind A's transaction (on the lock, or without it on the row A retired).
      await expect
        .poll(
          async () =>
            Number(
              (
                await sql<{ waiting: string }>`SELECT count(*) AS waiting FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db)
              ).rows[0]!.waiting,
            ),
          { timeout: 10_000 },
        )
        .toBe(1);
      release();
      const [first_, second_] = await Promise.all([a, b]);
      expect(second_.retired.map((key) => key.kid)).toEqual([first_.active.kid]);
      // B promoted the next key A published.
      expect(second_.active.kid).toBe(nextA.kid);
      // Dated after the wait: never retired before it was created.
      expect(second_.retired[0]!.retiredAt!.getTime()).toBeGreaterThanOrEqual(
        first_.active.createdAt.getTime(),
      );
      const current = await db
        .selectFrom('signing_keys')
        .select(['kid', 'activated_at'])
        .where('retired_at', 'is', null)
        .orderBy('activated_at')
        .execute();
      expect(current.map((key) => [key.kid, key.activated_at === null])).toEqual([
        [nextA.kid, false],
        [nextB.kid, true],
      ]);
    },
  );

  it('concurrent rotations (on every replica) leave exactly one active key and one next key', async () => {
    const [previous] = await listKeys();
    const replicas = second ? [first, second] : [first];
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        admin(replicas[index % replicas.length]!, 'POST', '/signing-keys/rotate', {
          reason: `race ${index}`,
          force: true,
        }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(6).fill(200));
    const results = responses.map(
      (response) => response.json as { active_kid: string; next_kid: string; retired_kid: string },
    );
    const active = await first.issuer.context.db
      .selectFrom('signing_keys')
      .select('kid')
      .where('retired_at', 'is', null)
      .where('activated_at', 'is not', null)
      .execute();
    expect(active).toHaveLength(1);
    const listed = await listKeys();
    expect(listed.filter((key) => key.state === 'next')).toHaveLength(1);
    // Each rotation promoted the next key the one before it published.
    const nextKids = new Set(results.map((result) => result.next_kid));
    expect(results.filter((result) => nextKids.has(result.active_kid))).toHaveLength(5);
    // The rotations queued: each retired the key the one before it created, so every key was retired
    // exactly once and the survivor is the key of the last rotation.
    const retired = results.map((result) => result.retired_kid);
    expect(new Set(retired).size).toBe(6);
    expect(new Set([...retired, active[0]!.kid])).toEqual(
      new Set([previous!.kid, ...results.map((result) => result.active_kid)]),
    );
    for (const key of await listKeys())
      if (key.retired_at)
        expect(Date.parse(key.retired_at)).toBeGreaterThanOrEqual(Date.parse(key.created_at));
    const audit = await admin(first, 'GET', '/audit-log?action=signing_key.rotate&limit=200');
    expect(
      audit.json.items.filter((entry: { after: { reason: string } }) =>
        entry.after.reason?.startsWith('race'),
      ),
    ).toHaveLength(6);
  });

  it('a retired key leaves the JWKS, the provider and the admin API once its publication ends', async () => {
    const keys = first.issuer.context.keys;
    const retiring = (await keys.activeKey())!;
    // An admin token signed with the key about to be retired, valid longer than the key stays published.
    const oldToken = await mintAccessToken(
      { ensureActiveKey: async () => retiring },
      { issuer: ISSUER, roles: ['admin'], clientId: 'old-key-admin', expiresInSeconds: 40 * 3600 },
    );
    expect((await admin(first, 'GET', '/signing-keys', undefined, oldToken)).status).toBe(200);
    const rotation = (await admin(first, 'POST', '/signing-keys/rotate', { force: true })).json as {
      retired_kid: string;
      retired_published_until: string;
    };
    expect(rotation.retired_kid).toBe(retiring.kid);
    expect((await admin(first, 'GET', '/signing-keys', undefined, oldToken)).status).toBe(200);

    // Only the clock moves: one second past the end of the retired key's publication.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse(rotation.retired_published_until) + 1000);
    try {
      expect((await jwks(first)).keys.map((key) => key.kid)).not.toContain(retiring.kid);
      expect((await loadSigningKeys(keys)).jwks.map((key) => key.kid)).not.toContain(retiring.kid);
      const refused = await admin(first, 'GET', '/signing-keys', undefined, oldToken);
      expect(refused.status).toBe(401);
      // Still listed, with the time it left the JWKS (asked with a token of the active key).
      const current = await mintAdminToken(keys, ISSUER);
      const listed = (
        (await admin(first, 'GET', '/signing-keys', undefined, current)).json.items as SigningKeyInfo[]
      ).find((key) => key.kid === retiring.kid);
      expect(listed).toMatchObject({ state: 'retired', published_until: rotation.retired_published_until });
    } finally {
      vi.useRealTimers();
    }
  });

  it('rotates without force once the next key has been published for the safety margin', async () => {
    const [, next] = await listKeys();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse(next!.published_at) + NEXT_KEY_SAFETY_SECONDS * 1000);
    try {
      const current = await mintAdminToken(first.issuer.context.keys, ISSUER);
      const response = await admin(first, 'POST', '/signing-keys/rotate', {}, current);
      expect(response.status).toBe(200);
      expect(response.json.active_kid).toBe(next!.kid);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a store without a next key (from before next keys) gets exactly one at start, however many replicas start', async () => {
    const { db, secrets } = first.issuer.context;
    const [active] = await listKeys();
    await db.deleteFrom('signing_keys').where('activated_at', 'is', null).execute();
    expect((await listKeys()).some((key) => key.state === 'next')).toBe(false);
    // Starts race on every replica's connection, and several per replica.
    const stores = [first, second ?? first].map(
      (replica) => new SigningKeyStore(replica.issuer.context.db, secrets),
    );
    const started = await Promise.all(
      stores.flatMap((store) => [store.ensureActiveKey(), store.ensureActiveKey()]),
    );
    expect(new Set(started.map((key) => key.kid))).toEqual(new Set([active!.kid]));
    const keys = await listKeys();
    expect(keys.filter((key) => key.state === 'active').map((key) => key.kid)).toEqual([active!.kid]);
    expect(keys.filter((key) => key.state === 'next')).toHaveLength(1);
    expect((await jwks(first)).keys.map((key) => key.kid).slice(0, 2)).toEqual([active!.kid, keys[1]!.kid]);
    // The second replica agrees on which key is next.
    if (second) expect((await listKeys(second))[1]!.kid).toBe(keys[1]!.kid);
  });

  it('the database refuses a second next key', async () => {
    const { db } = first.issuer.context;
    const extra = await generateSigningKey();
    await expect(
      db
        .insertInto('signing_keys')
        .values({ ...extra, activated_at: null })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });
});
