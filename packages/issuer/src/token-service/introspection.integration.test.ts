/**
 * RFC 7662 introspection of JWT access tokens over HTTP (oauth4webapi as the resource server), on
 * PGlite and PostgreSQL: who may introspect what, and `active: false` as soon as the current state
 * revokes the token. User tokens and refresh tokens: see token-service.integration.test.ts.
 */
import { generateKeyPair, importJWK, SignJWT } from 'jose';
import { sql } from 'kysely';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { disableServicePrincipal } from '../directory/service-principal-actions.js';
import { type SeededApi, type SeededApp, seedApi, seedApplication } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';

const serverUrl = await postgresUrl();
const engines = [
  { name: 'PGlite', database: async () => ({ url: undefined as string | undefined, drop: async () => {} }) },
  ...(serverUrl ? [{ name: 'PostgreSQL', database: () => createTestDatabase(serverUrl) }] : []),
];
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

describe.each(engines)('introspection of JWT access tokens on $name', ({ database }) => {
  let server: TestIssuer;
  let drop: () => Promise<void>;
  let as: oauth.AuthorizationServer;
  let orders: SeededApi;
  let billing: SeededApi;
  /** The Orders API's own application: granted on api://orders, so it may introspect its tokens. */
  let ordersApi: SeededApp;
  /** Granted on another API only. */
  let billingApi: SeededApp;
  const db = () => server.issuer.context.db;

  beforeAll(async () => {
    const created = await database();
    drop = created.drop;
    server = await startTestIssuer({ databaseUrl: created.url });
    as = await oauth.processDiscoveryResponse(
      new URL(TEST_ISSUER_URL),
      await fetch(`${server.baseUrl}/.well-known/openid-configuration`),
    );
    // Endpoints are advertised on the issuer URL; requests go to the test server.
    as = { ...as, introspection_endpoint: `${server.baseUrl}/token/introspection` };
    orders = await seedApi(db(), {
      audience: 'api://orders',
      caeEnabled: true,
      appRoles: ['Orders.Read.All', 'Orders.Introspect'],
    });
    billing = await seedApi(db(), {
      audience: 'api://billing',
      caeEnabled: false,
      appRoles: ['Billing.Read'],
    });
    ordersApi = await seedApplication(db(), {
      name: 'orders-api',
      grants: [{ api: orders, roles: ['Orders.Introspect'] }],
    });
    billingApi = await seedApplication(db(), {
      name: 'billing-api',
      grants: [{ api: billing, roles: ['Billing.Read'] }],
    });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  async function daemonToken(app: SeededApp, audience = 'api://orders'): Promise<string> {
    const response = await fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: `${audience}/.default`,
        claims: CP1,
      }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function introspect(caller: SeededApp, token: string, secret = caller.clientSecret!) {
    const response = await oauth.introspectionRequest(
      as,
      { client_id: caller.clientId },
      oauth.ClientSecretBasic(secret),
      token,
      insecure,
    );
    return oauth.processIntrospectionResponse(as, { client_id: caller.clientId }, response);
  }

  const freshDaemon = () =>
    seedApplication(db(), {
      name: 'daemon',
      grants: [
        { api: orders, roles: ['Orders.Read.All'] },
        { api: billing, roles: ['Billing.Read'] },
      ],
    });

  it("answers the API's own application with active:true and the token's claims", async () => {
    const daemon = await freshDaemon();
    const token = await daemonToken(daemon);
    const answer = await introspect(ordersApi, token);
    expect(answer).toMatchObject({
      active: true,
      iss: TEST_ISSUER_URL,
      aud: 'api://orders',
      sub: daemon.servicePrincipalId,
      oid: daemon.servicePrincipalId,
      client_id: daemon.clientId,
      azp: daemon.clientId,
      idtyp: 'app',
      roles: ['Orders.Read.All'],
      xms_cc: ['cp1'],
      token_type: 'Bearer',
    });
    expect(answer.exp).toBeGreaterThan(Date.now() / 1000 + 20 * 3600 - 60);
    expect(answer.jti).toBeTypeOf('string');
  });

  it('answers active:false to a client not granted on the token API, and to the token holder itself', async () => {
    const daemon = await freshDaemon();
    const token = await daemonToken(daemon);
    expect(await introspect(billingApi, token)).toEqual({ active: false });
    // The billing API may introspect billing tokens, not orders tokens.
    expect((await introspect(billingApi, await daemonToken(daemon, 'api://billing'))).active).toBe(true);
    // The daemon is granted on api://orders as a client, so it may; a client with no grant may not.
    const stranger = await seedApplication(db(), { name: 'stranger' });
    expect(await introspect(stranger, token)).toEqual({ active: false });
  });

  it('refuses a caller that does not authenticate, without answering about the token', async () => {
    const token = await daemonToken(await freshDaemon());
    const response = await oauth.introspectionRequest(
      as,
      { client_id: ordersApi.clientId },
      oauth.ClientSecretBasic('not-the-secret'),
      token,
      insecure,
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('answers active:false for a forged, an expired, a foreign-issuer and a garbage token', async () => {
    const key = await server.issuer.context.keys.ensureActiveKey();
    const ours = await importJWK(key.privateJwk, 'RS256');
    // Another key claiming our kid.
    const { privateKey } = await generateKeyPair('RS256');
    const kid = key.kid;
    const claims = { aud: 'api://orders', azp: 'x', idtyp: 'app', sub: 'x' };
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
      .setIssuer(TEST_ISSUER_URL)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await introspect(ordersApi, forged)).toEqual({ active: false });

    const signWithOurs = (issuer: string, expiresAt: number) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid })
        .setIssuer(issuer)
        .setIssuedAt(expiresAt - 3600)
        .setExpirationTime(expiresAt)
        .sign(ours);
    const now = Math.floor(Date.now() / 1000);
    expect(await introspect(ordersApi, await signWithOurs(TEST_ISSUER_URL, now - 600))).toEqual({
      active: false,
    });
    expect(await introspect(ordersApi, await signWithOurs('https://evil.example', now + 600))).toEqual({
      active: false,
    });
    expect(await introspect(ordersApi, 'not-a-token')).toEqual({ active: false });
    expect(await introspect(ordersApi, 'a.b.c')).toEqual({ active: false });
  });

  describe('turns active:false as soon as the current state revokes the token', () => {
    const cases: [string, (daemon: SeededApp) => Promise<unknown>][] = [
      [
        'service principal disabled (directory service)',
        (daemon) =>
          disableServicePrincipal({ db: db(), issuer: TEST_ISSUER_URL, actor: 'test' }, daemon.clientId),
      ],
      [
        'service principal deleted',
        (daemon) =>
          sql`UPDATE service_principals SET deleted_at = now() WHERE id = ${daemon.servicePrincipalId}`.execute(
            db(),
          ),
      ],
      [
        'sessions revoked after iat',
        (daemon) =>
          sql`UPDATE service_principals SET sessions_revoked_at = now() + interval '1 second' WHERE id = ${daemon.servicePrincipalId}`.execute(
            db(),
          ),
      ],
      [
        'credentials changed after iat',
        (daemon) =>
          sql`UPDATE service_principals SET credentials_changed_at = now() + interval '1 second' WHERE id = ${daemon.servicePrincipalId}`.execute(
            db(),
          ),
      ],
      [
        'high risk',
        (daemon) =>
          sql`UPDATE service_principals SET risk_level = 'high' WHERE id = ${daemon.servicePrincipalId}`.execute(
            db(),
          ),
      ],
      [
        'application deleted',
        (daemon) => sql`DELETE FROM applications WHERE id = ${daemon.applicationId}`.execute(db()),
      ],
    ];
    it.each(cases)('%s', async (_name, change) => {
      const daemon = await freshDaemon();
      const token = await daemonToken(daemon);
      expect((await introspect(ordersApi, token)).active).toBe(true);
      await change(daemon);
      await server.directoryChangesSeen();
      expect(await introspect(ordersApi, token)).toEqual({ active: false });
    });

    it('a credential change before the token was issued does not revoke it', async () => {
      const daemon = await freshDaemon();
      await sql`UPDATE service_principals SET credentials_changed_at = now() - interval '5 seconds' WHERE id = ${daemon.servicePrincipalId}`.execute(
        db(),
      );
      await server.directoryChangesSeen();
      expect((await introspect(ordersApi, await daemonToken(daemon))).active).toBe(true);
    });

    it('the introspecting application itself disabled gets active:false', async () => {
      const rs = await seedApplication(db(), {
        name: 'orders-api-2',
        grants: [{ api: orders, roles: ['Orders.Introspect'] }],
      });
      const token = await daemonToken(await freshDaemon());
      expect((await introspect(rs, token)).active).toBe(true);
      await disableServicePrincipal({ db: db(), issuer: TEST_ISSUER_URL, actor: 'test' }, rs.clientId);
      await server.directoryChangesSeen();
      expect(await introspect(rs, token)).toEqual({ active: false });
    });
  });
});
