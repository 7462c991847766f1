/**
 * Two issuer processes on one PostgreSQL database: each verifies the other's tokens through its
 * JWKS, and a key rotation done by one is picked up by both (NOTIFY) without a restart.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { maxTokenLifetimeSeconds } from '../config.js';
import { rotateSigningKey } from './signing-key-sync.js';
import { type SeededApp, seedApi, seedApplication } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';

const serverUrl = await postgresUrl();

describe.skipIf(!serverUrl)('two token service replicas on one PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let first: TestIssuer;
  let second: TestIssuer;
  let app: SeededApp;

  beforeAll(async () => {
    database = await createTestDatabase(serverUrl!);
    first = await startTestIssuer({ databaseUrl: database.url });
    second = await startTestIssuer({ databaseUrl: database.url });
    const db = first.issuer.context.db;
    const api = await seedApi(db, {
      audience: 'api://orders',
      caeEnabled: true,
      appRoles: ['Orders.Read.All'],
    });
    app = await seedApplication(db, { grants: [{ api, roles: ['Orders.Read.All'] }] });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  async function token(replica: TestIssuer): Promise<string> {
    const response = await fetch(`${replica.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api://orders/.default' }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function verifyWith(replica: TestIssuer, jwt: string) {
    const jwks = await (await fetch(`${replica.baseUrl}/jwks`)).json();
    return jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: TEST_ISSUER_URL,
      audience: 'api://orders',
      typ: 'at+jwt',
    });
  }

  it("each replica's tokens verify with the other's JWKS", async () => {
    await expect(verifyWith(second, await token(first))).resolves.toBeDefined();
    await expect(verifyWith(first, await token(second))).resolves.toBeDefined();
  });

  it('a rotation on one replica is used by both, and older tokens still verify', async () => {
    const before = await token(second);
    const { context } = first.issuer;
    const kid = await rotateSigningKey(context.keys, context.db, maxTokenLifetimeSeconds(context.config), {
      force: true,
    });
    await expect
      .poll(async () => decodeProtectedHeader(await token(second)).kid, { timeout: 5000 })
      .toBe(kid);
    await expect.poll(async () => decodeProtectedHeader(await token(first)).kid, { timeout: 5000 }).toBe(kid);
    await expect(verifyWith(second, before)).resolves.toBeDefined();
    await expect(verifyWith(first, await token(second))).resolves.toBeDefined();
  });
});
