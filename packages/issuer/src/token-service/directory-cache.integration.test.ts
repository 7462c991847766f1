/**
 * The directory cache over HTTP: whatever writes a directory change (raw SQL, the directory
 * services, another replica), the next token request after the change's notification sees it; on
 * PGlite and PostgreSQL, and across two issuers on one PostgreSQL database. Also: reads bypass the
 * cache before LISTEN is established and while the listener connection is lost.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { disableServicePrincipal } from '../directory/service-principal-actions.js';
import { CachedDirectoryReader } from './cached-directory-reader.js';
import { DIRECTORY_CHANGED_CHANNEL, DirectoryCache } from './directory-cache.js';
import { type SeededApi, type SeededApp, seedApi, seedApplication } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';

const serverUrl = await postgresUrl();
const engines = [
  { name: 'PGlite', database: async () => ({ url: undefined as string | undefined, drop: async () => {} }) },
  ...(serverUrl ? [{ name: 'PostgreSQL', database: () => createTestDatabase(serverUrl) }] : []),
];

const AUDIENCE = 'api://orders';

function tokenRequest(server: TestIssuer, app: SeededApp, claims?: object): Promise<Response> {
  return fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: `${AUDIENCE}/.default`,
      ...(claims ? { claims: JSON.stringify({ access_token: claims }) } : {}),
    }),
  });
}

async function expectIssued(
  server: TestIssuer,
  app: SeededApp,
  claims?: object,
): Promise<Record<string, unknown>> {
  const response = await tokenRequest(server, app, claims);
  const body = (await response.json()) as { access_token?: string };
  expect(response.status).toBe(200);
  return JSON.parse(Buffer.from(body.access_token?.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

async function expectRefused(server: TestIssuer, app: SeededApp, description: RegExp): Promise<void> {
  const response = await tokenRequest(server, app);
  const body = (await response.json()) as { error?: string; error_description?: string };
  expect(response.status).toBe(body.error === 'invalid_scope' ? 400 : 401);
  expect(body.error_description).toMatch(description);
}

describe.each(engines)('directory cache on $name', ({ database }) => {
  let server: TestIssuer;
  let drop: () => Promise<void>;
  let api: SeededApi;
  const db = () => server.issuer.context.db;
  const cache = () => server.directoryCache();

  beforeAll(async () => {
    const created = await database();
    drop = created.drop;
    server = await startTestIssuer({ databaseUrl: created.url });
    api = await seedApi(db(), { audience: AUDIENCE, caeEnabled: true, appRoles: ['Orders.Read.All'] });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('is live once the issuer listens, and serves repeated token requests from memory', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    expect(cache().stats().live).toBe(true);
    // The first token of a fresh database creates the tenant id (a directory write, so a notification).
    await expectIssued(server, app);
    await server.directoryChangesSeen();
    await expectIssued(server, app);
    const { hits } = cache().stats();
    await expectIssued(server, app);
    expect(cache().stats().hits).toBeGreaterThan(hits);
  });

  it('a service principal disabled by raw SQL is refused at the next request after the notification', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    await expectIssued(server, app);
    await expectIssued(server, app);
    await db()
      .updateTable('service_principals')
      .set({ enabled: false })
      .where('id', '=', app.servicePrincipalId)
      .execute();
    await server.directoryChangesSeen();
    await expectRefused(server, app, /disabled/);
  });

  it('a service principal disabled through the directory service is refused', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    await expectIssued(server, app);
    await disableServicePrincipal({ db: db(), issuer: TEST_ISSUER_URL, actor: 'test' }, app.clientId);
    await server.directoryChangesSeen();
    await expectRefused(server, app, /disabled/);
  });

  it('a secret revoked, a grant withdrawn and an API turned non-CAE by raw SQL are seen', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    expect((await expectIssued(server, app)).roles).toEqual(['Orders.Read.All']);

    await sql`UPDATE apis SET cae_enabled = false WHERE id = ${api.id}`.execute(db());
    await server.directoryChangesSeen();
    const claims = await expectIssued(server, app, { xms_cc: { values: ['cp1'] } });
    expect(claims.xms_cc).toBeUndefined();
    await sql`UPDATE apis SET cae_enabled = true WHERE id = ${api.id}`.execute(db());
    await server.directoryChangesSeen();

    await sql`DELETE FROM api_grants WHERE application_id = ${app.applicationId}`.execute(db());
    await server.directoryChangesSeen();
    await expectRefused(server, app, /not been granted/);

    await sql`INSERT INTO api_grants (application_id, api_id, roles) VALUES (${app.applicationId}, ${api.id}, '["Orders.Read.All"]'::jsonb)`.execute(
      db(),
    );
    await server.directoryChangesSeen();
    await expectIssued(server, app);

    await sql`UPDATE client_secrets SET revoked_at = now() WHERE application_id = ${app.applicationId}`.execute(
      db(),
    );
    await server.directoryChangesSeen();
    await expectRefused(server, app, /revoked/);
  });

  it('without the trigger a change would stay unseen: the notification is what invalidates', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    await server.directoryChangesSeen();
    await expectIssued(server, app);
    await sql`ALTER TABLE service_principals DISABLE TRIGGER opencae_directory_changed`.execute(db());
    try {
      await sql`UPDATE service_principals SET enabled = false WHERE id = ${app.servicePrincipalId}`.execute(
        db(),
      );
      // Give a notification (there is none) every chance to arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expectIssued(server, app);
    } finally {
      await sql`ALTER TABLE service_principals ENABLE TRIGGER opencae_directory_changed`.execute(db());
    }
  });

  it('reads go to the database while the cache is not subscribed', async () => {
    const app = await seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });
    const reader = new CachedDirectoryReader(db(), new DirectoryCache());
    expect((await reader.applicationByClientId(app.clientId))?.servicePrincipal?.enabled).toBe(true);
    await sql`ALTER TABLE service_principals DISABLE TRIGGER opencae_directory_changed`.execute(db());
    try {
      await sql`UPDATE service_principals SET enabled = false WHERE id = ${app.servicePrincipalId}`.execute(
        db(),
      );
    } finally {
      await sql`ALTER TABLE service_principals ENABLE TRIGGER opencae_directory_changed`.execute(db());
    }
    expect((await reader.applicationByClientId(app.clientId))?.servicePrincipal?.enabled).toBe(false);
    expect(reader.cache.stats()).toMatchObject({ live: false, entries: 0 });
  });
});

describe.skipIf(!serverUrl)('directory cache across two issuers on one PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let first: TestIssuer;
  let second: TestIssuer;
  let api: SeededApi;

  beforeAll(async () => {
    database = await createTestDatabase(serverUrl!);
    first = await startTestIssuer({ databaseUrl: database.url });
    second = await startTestIssuer({ databaseUrl: database.url });
    api = await seedApi(first.issuer.context.db, {
      audience: AUDIENCE,
      caeEnabled: true,
      appRoles: ['Orders.Read.All'],
    });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  it('a change made through instance A is refused by instance B at its next request', async () => {
    const app = await seedApplication(first.issuer.context.db, {
      grants: [{ api, roles: ['Orders.Read.All'] }],
    });
    await expectIssued(second, app);
    await expectIssued(second, app);
    await disableServicePrincipal(
      { db: first.issuer.context.db, issuer: TEST_ISSUER_URL, actor: 'test' },
      app.clientId,
    );
    await second.directoryChangesSeen();
    await expectRefused(second, app, /disabled/);
    await expectRefused(first, app, /disabled/);
  });

  it('bypasses the cache while its listener connection is lost, then subscribes again', async () => {
    const app = await seedApplication(first.issuer.context.db, {
      grants: [{ api, roles: ['Orders.Read.All'] }],
    });
    const cache = second.directoryCache();
    await second.directoryChangesSeen();
    await expectIssued(second, app);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE $1`,
        [`LISTEN "${DIRECTORY_CHANGED_CHANNEL}"`],
      );
      // Both issuers listen: two connections dropped.
      expect(rows.length).toBe(2);
      await expect.poll(() => cache.stats().live, { timeout: 5000, interval: 2 }).toBe(false);
      // Its notification cannot reach a dropped listener; the change must be seen anyway.
      await admin.query('UPDATE service_principals SET enabled = false WHERE id = $1', [
        app.servicePrincipalId,
      ]);
      await expectRefused(second, app, /disabled/);
      await expect.poll(() => cache.stats().live, { timeout: 10_000, interval: 10 }).toBe(true);
      await admin.query('UPDATE service_principals SET enabled = true WHERE id = $1', [
        app.servicePrincipalId,
      ]);
      await expect.poll(async () => (await tokenRequest(second, app)).status, { timeout: 5000 }).toBe(200);
      const { hits } = cache.stats();
      await expectIssued(second, app);
      expect(cache.stats().hits).toBeGreaterThan(hits);
    } finally {
      await admin.end();
    }
  });
});
