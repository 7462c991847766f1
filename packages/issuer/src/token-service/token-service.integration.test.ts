/**
 * The token service over HTTP, driven by oauth4webapi, on PGlite and (when DATABASE_URL is set)
 * PostgreSQL: client credentials with and without cp1, authorization code + PKCE through the sign-in
 * page with TOTP, refresh rotation, refusals after each state change, and bad input.
 */
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { testSecretsKey } from '../../test/support/secrets-keys.js';
import { ADMIN_AUDIENCE } from '../built-in-apis.js';
import { bootstrapDirectory } from '../directory/bootstrap.js';
import { timeStep, totpCode } from './interaction/totp.js';
import { TestBrowser } from './test-browser.js';
import { type SeededApi, type SeededApp, seedApi, seedApplication, seedUser } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';

const HOUR = 3600;
const CP1_CLAIMS = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
/** What MSAL sends on every token request. */
const MSAL_CLAIMS = JSON.stringify({
  id_token: { auth_time: { essential: true } },
  access_token: { xms_cc: { values: ['CP1'] } },
});
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

const serverUrl = await postgresUrl();
const engines = [
  { name: 'PGlite', database: async () => ({ url: undefined as string | undefined, drop: async () => {} }) },
  ...(serverUrl ? [{ name: 'PostgreSQL', database: () => createTestDatabase(serverUrl) }] : []),
];

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe.each(engines)('token service on $name', ({ database }) => {
  let server: TestIssuer;
  let drop: () => Promise<void>;
  let as: oauth.AuthorizationServer;
  let caeApi: SeededApi;
  let plainApi: SeededApi;
  let daemon: SeededApp;

  const db = () => server.issuer.context.db;
  const tokenEndpoint = () => `${server.baseUrl}/token`;

  async function clientCredentials(app: SeededApp, parameters: Record<string, string>, query = '') {
    return fetch(`${tokenEndpoint()}${query}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...parameters }),
    });
  }

  async function expectError(response: Response, status: number, error: string, description?: RegExp) {
    const body = (await response.json()) as { error?: string; error_description?: string };
    expect({ status: response.status, error: body.error }).toEqual({ status, error });
    if (description) expect(body.error_description).toMatch(description);
    return body;
  }

  async function verify(token: string, audience: string) {
    const jwks = await (await fetch(`${server.baseUrl}/jwks`)).json();
    return jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: TEST_ISSUER_URL,
      audience,
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
  }

  beforeAll(async () => {
    const created = await database();
    drop = created.drop;
    // A configured key, so the secrets are encrypted at rest on PostgreSQL too (not only in memory).
    server = await startTestIssuer({
      databaseUrl: created.url,
      config: { secretsKeys: testSecretsKey('token-service') },
    });
    as = await oauth.processDiscoveryResponse(
      new URL(TEST_ISSUER_URL),
      await fetch(`${server.baseUrl}/.well-known/openid-configuration`),
    );
    caeApi = await seedApi(db(), {
      audience: 'api://orders',
      caeEnabled: true,
      scopes: ['Orders.Read', 'Orders.Write'],
      appRoles: ['Orders.Read.All', 'Orders.Admin'],
    });
    plainApi = await seedApi(db(), {
      audience: 'https://legacy.example/api',
      caeEnabled: false,
      appRoles: ['Legacy.Read'],
    });
    daemon = await seedApplication(db(), {
      name: 'billing-daemon',
      grants: [
        { api: caeApi, roles: ['Orders.Read.All'] },
        { api: plainApi, roles: ['Legacy.Read'] },
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  describe('discovery and keys', () => {
    it('advertises the issuer, S256-only PKCE, the claims parameter and the RFC 7009/7662/8707 endpoints', () => {
      expect(as.issuer).toBe(TEST_ISSUER_URL);
      expect(as.code_challenge_methods_supported).toEqual(['S256']);
      expect(as.claims_parameter_supported).toBe(true);
      expect(as.revocation_endpoint).toMatch(/\/token\/revocation$/);
      expect(as.introspection_endpoint).toMatch(/\/token\/introspection$/);
      expect(as.grant_types_supported).toEqual(
        expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
      );
    });
  });

  describe('client credentials', () => {
    it('gives a CAE-capable client of a CAE-enabled API a 20–28 h token with xms_cc and refresh_in', async () => {
      const client: oauth.Client = { client_id: daemon.clientId };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(daemon.clientSecret!),
        { scope: 'api://orders/.default', claims: CP1_CLAIMS },
        insecure,
      );
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      expect(tokens.expires_in).toBeGreaterThanOrEqual(20 * HOUR);
      expect(tokens.expires_in).toBeLessThanOrEqual(28 * HOUR);
      expect(tokens.refresh_in).toBe(Math.floor((tokens.expires_in ?? 0) / 2));
      const { payload, protectedHeader } = await verify(tokens.access_token, 'api://orders');
      expect(protectedHeader.typ).toBe('at+jwt');
      const tenant = await db()
        .selectFrom('settings')
        .select('value')
        .where('key', '=', 'tenant_id')
        .executeTakeFirstOrThrow();
      expect(payload).toMatchObject({
        iss: TEST_ISSUER_URL,
        aud: 'api://orders',
        sub: daemon.servicePrincipalId,
        oid: daemon.servicePrincipalId,
        idtyp: 'app',
        azp: daemon.clientId,
        roles: ['Orders.Read.All'],
        xms_cc: ['cp1'],
        ipaddr: '127.0.0.1',
        tid: tenant.value,
      });
      expect(payload.scp).toBeUndefined();
      expect(payload.nbf).toBe(payload.iat);
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(tokens.expires_in);
    });

    it("accepts MSAL's claims shape, x-client-* form parameters and the client-request-id query parameter", async () => {
      const response = await clientCredentials(
        daemon,
        {
          scope: 'api://orders/.default',
          claims: MSAL_CLAIMS,
          'x-client-SKU': 'MSAL.Node',
          'x-client-VER': '2.0.0',
        },
        '?client-request-id=5b0e8f3e-4f0a-4a54-9d4e-4f1c2a1d9c11',
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; expires_in: number };
      expect(claimsOf(body.access_token).xms_cc).toEqual(['cp1']);
      expect(body.expires_in).toBeGreaterThan(2 * HOUR);
    });

    it('gives a client without cp1 a 60–90 min token without xms_cc or refresh_in', async () => {
      const response = await clientCredentials(daemon, { resource: 'api://orders' });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status).toBe(200);
      expect(body.expires_in).toBeGreaterThanOrEqual(HOUR);
      expect(body.expires_in).toBeLessThanOrEqual(1.5 * HOUR);
      expect(body.refresh_in).toBeUndefined();
      expect(claimsOf(String(body.access_token)).xms_cc).toBeUndefined();
    });

    it('does not mark tokens for an API that is not CAE-enabled, even for a cp1 client', async () => {
      const response = await clientCredentials(daemon, {
        scope: 'https://legacy.example/api/.default',
        claims: CP1_CLAIMS,
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status).toBe(200);
      expect(body.expires_in).toBeLessThanOrEqual(1.5 * HOUR);
      expect(body.refresh_in).toBeUndefined();
      const claims = claimsOf(String(body.access_token));
      expect(claims.xms_cc).toBeUndefined();
      expect(claims.aud).toBe('https://legacy.example/api');
      expect(claims.roles).toEqual(['Legacy.Read']);
    });

    it("honours a challenge's essential nbf and refuses one it cannot satisfy", async () => {
      const now = Math.floor(Date.now() / 1000);
      const challenge = {
        access_token: { nbf: { essential: true, value: String(now + 20) }, xms_cc: { values: ['cp1'] } },
      };
      const response = await clientCredentials(daemon, {
        scope: 'api://orders/.default',
        claims: JSON.stringify(challenge),
      });
      const body = (await response.json()) as { access_token: string };
      expect(response.status).toBe(200);
      expect(Number(claimsOf(body.access_token).iat)).toBeGreaterThanOrEqual(now + 20);

      const future = { access_token: { nbf: { essential: true, value: String(now + 3600) } } };
      await expectError(
        await clientCredentials(daemon, { scope: 'api://orders/.default', claims: JSON.stringify(future) }),
        400,
        'invalid_request',
        /nbf.*future/,
      );
      const acrs = { access_token: { acrs: { essential: true, value: 'c1' } } };
      await expectError(
        await clientCredentials(daemon, { scope: 'api://orders/.default', claims: JSON.stringify(acrs) }),
        400,
        'invalid_request',
        /acrs.*cannot be satisfied/,
      );
    });

    it('authenticates private_key_jwt clients with the keys registered on the application', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      const app = await seedApplication(db(), {
        authMethod: 'private_key_jwt',
        jwks: { keys: [jwk] },
        grants: [{ api: caeApi, roles: ['Orders.Admin'] }],
      });
      const client: oauth.Client = { client_id: app.clientId };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.PrivateKeyJwt({ key: privateKey, kid: 'k1' }),
        { scope: 'api://orders/.default' },
        insecure,
      );
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      expect(claimsOf(tokens.access_token).roles).toEqual(['Orders.Admin']);
    });
  });

  describe('bad input gets the right OAuth error, never a 500', () => {
    it('malformed and oversized claims', async () => {
      await expectError(
        await clientCredentials(daemon, { scope: 'api://orders/.default', claims: '{"access_token":' }),
        400,
        'invalid_request',
        /not valid JSON/,
      );
      await expectError(
        await clientCredentials(daemon, { scope: 'api://orders/.default', claims: '[1,2]' }),
        400,
        'invalid_request',
        /JSON object/,
      );
      const big = JSON.stringify({ access_token: { pad: { value: 'x'.repeat(20_000) } } });
      await expectError(
        await clientCredentials(daemon, { scope: 'api://orders/.default', claims: big }),
        400,
        'invalid_request',
        /limit/,
      );
    });

    it('unknown grant type, wrong secret, unknown client, unknown API, no grant', async () => {
      await expectError(
        await clientCredentials(daemon, { grant_type: 'urn:example:made-up' }),
        400,
        'unsupported_grant_type',
      );
      await expectError(
        await clientCredentials(
          { ...daemon, clientSecret: 'not-the-secret' },
          { scope: 'api://orders/.default' },
        ),
        401,
        'invalid_client',
      );
      await expectError(
        await clientCredentials(
          { ...daemon, clientId: 'no-such-client' },
          { scope: 'api://orders/.default' },
        ),
        401,
        'invalid_client',
      );
      await expectError(
        await clientCredentials(daemon, { scope: 'api://unknown/.default' }),
        400,
        'invalid_target',
        /no API is registered/,
      );
      const stranger = await seedApplication(db());
      await expectError(
        await clientCredentials(stranger, { scope: 'api://orders/.default' }),
        400,
        'invalid_scope',
        /not been granted/,
      );
    });

    it('a body of garbage', async () => {
      const response = await fetch(tokenEndpoint(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '%%%\u0000=&&&',
      });
      expect(response.status).toBeLessThan(500);
    });
  });

  describe('current state is evaluated at every client-credentials request', () => {
    async function freshDaemon() {
      return seedApplication(db(), { grants: [{ api: caeApi, roles: ['Orders.Read.All'] }] });
    }

    it('refuses a disabled, then a deleted, service principal with a reason', async () => {
      const app = await freshDaemon();
      expect((await clientCredentials(app, { scope: 'api://orders/.default' })).status).toBe(200);
      await db()
        .updateTable('service_principals')
        .set({ enabled: false })
        .where('id', '=', app.servicePrincipalId)
        .execute();
      await server.directoryChangesSeen();
      await expectError(
        await clientCredentials(app, { scope: 'api://orders/.default' }),
        401,
        'invalid_client',
        /disabled/,
      );
      await db()
        .updateTable('service_principals')
        .set({ enabled: true, deleted_at: new Date() })
        .where('id', '=', app.servicePrincipalId)
        .execute();
      await server.directoryChangesSeen();
      await expectError(
        await clientCredentials(app, { scope: 'api://orders/.default' }),
        401,
        'invalid_client',
        /deleted/,
      );
    });

    it('refuses a revoked and an expired secret with a reason', async () => {
      const app = await freshDaemon();
      await db()
        .updateTable('client_secrets')
        .set({ revoked_at: new Date() })
        .where('id', '=', app.secretId!)
        .execute();
      await server.directoryChangesSeen();
      await expectError(
        await clientCredentials(app, { scope: 'api://orders/.default' }),
        401,
        'invalid_client',
        /revoked/,
      );
      const other = await freshDaemon();
      await db()
        .updateTable('client_secrets')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', other.secretId!)
        .execute();
      await server.directoryChangesSeen();
      await expectError(
        await clientCredentials(other, { scope: 'api://orders/.default' }),
        401,
        'invalid_client',
        /expired/,
      );
    });

    it('refuses a service principal at high risk', async () => {
      const app = await freshDaemon();
      await db()
        .updateTable('service_principals')
        .set({ risk_level: 'high' })
        .where('id', '=', app.servicePrincipalId)
        .execute();
      await server.directoryChangesSeen();
      await expectError(
        await clientCredentials(app, { scope: 'api://orders/.default' }),
        401,
        'invalid_client',
        /high risk/,
      );
    });
  });

  describe('authorization code + PKCE through the sign-in page', () => {
    let webApp: SeededApp;
    let client: oauth.Client;
    let clientAuth: oauth.ClientAuth;

    beforeAll(async () => {
      webApp = await seedApplication(db(), {
        name: 'Orders Web',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT_URI],
        grants: [{ api: caeApi, scopes: ['Orders.Read'] }],
      });
      client = { client_id: webApp.clientId };
      clientAuth = oauth.ClientSecretBasic(webApp.clientSecret!);
    });

    /** The user has a TOTP authenticator and must use it; the token service has seen the change. */
    async function enrollTotp(userId: string, secret: string) {
      await db()
        .updateTable('users')
        .set({ totp_secret: secret, totp_enrolled_at: new Date(), mfa_required: true })
        .where('id', '=', userId)
        .execute();
      await server.directoryChangesSeen();
    }

    /** Runs the browser part; returns the callback URL and the PKCE verifier. */
    async function authorize(
      browser: TestBrowser,
      o: {
        username: string;
        password: string;
        totp?: (html: string) => string;
        claims?: string;
        verifier?: string;
      },
    ) {
      const verifier = o.verifier ?? oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid offline_access api://orders/Orders.Read',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        claims: o.claims ?? CP1_CLAIMS,
      }).toString();
      const signIn = await browser.open(url.href);
      expect(signIn.status).toBe(200);
      expect(signIn.html).toContain('<label for="password">Password</label>');
      let page = await browser.submit(signIn, { username: o.username, password: o.password });
      if (o.totp) {
        expect(page.status).toBe(200);
        page = await browser.submit(page, { code: o.totp(page.html) });
      }
      expect(page.location, page.html.slice(0, 500)).toBeDefined();
      return { callback: new URL(page.location!), verifier, state };
    }

    async function redeem(callback: URL, verifier: string, state: string, claims = MSAL_CLAIMS) {
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        REDIRECT_URI,
        verifier,
        {
          ...insecure,
          additionalParameters: { claims },
        },
      );
      return { response, params };
    }

    it('signs in with password and TOTP enrollment, then issues CAE tokens and rotates refresh tokens', async () => {
      const user = await seedUser(db(), {
        username: 'alice',
        password: 'correct horse battery',
        mfaRequired: true,
      });
      let enrolledSecret = '';
      const browser = new TestBrowser(server.baseUrl);
      const { callback, verifier, state } = await authorize(browser, {
        username: 'alice',
        password: 'correct horse battery',
        totp: (html) => {
          enrolledSecret = /<code id="secret">([A-Z2-7]+)<\/code>/.exec(html)?.[1] ?? '';
          expect(html).toContain('otpauth://totp/');
          return totpCode(enrolledSecret, timeStep(Date.now()));
        },
      });
      const { response } = await redeem(callback, verifier, state);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
        requireIdToken: true,
      });
      expect(tokens.expires_in).toBeGreaterThanOrEqual(20 * HOUR);
      expect(tokens.refresh_in).toBe(Math.floor((tokens.expires_in ?? 0) / 2));
      const { payload } = await verify(tokens.access_token, 'api://orders');
      expect(payload).toMatchObject({
        sub: user.id,
        oid: user.id,
        idtyp: 'user',
        scp: 'Orders.Read',
        azp: webApp.clientId,
        xms_cc: ['cp1'],
      });
      expect(typeof payload.sid).toBe('string');
      expect(payload.roles).toBeUndefined();
      const row = await db()
        .selectFrom('users')
        .select(['totp_secret', 'totp_enrolled_at'])
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(row.totp_enrolled_at).not.toBeNull();
      // Secrets at rest: the raw rows hold ciphertexts only, while the sign-in and signing above worked.
      expect(row.totp_secret).toMatch(/^enc:v1:token-service:/);
      expect(row.totp_secret).not.toContain(enrolledSecret);
      const signingKeys = await db().selectFrom('signing_keys').select('private_jwk').execute();
      for (const { private_jwk } of signingKeys) {
        expect(private_jwk).toEqual(expect.stringMatching(/^enc:v1:token-service:/));
        expect(JSON.stringify(private_jwk)).not.toMatch(/"d"/);
      }
      const cookieKeys = await db()
        .selectFrom('settings')
        .select('value')
        .where('key', '=', 'token_service.cookie_keys')
        .executeTakeFirstOrThrow();
      expect(cookieKeys.value).toEqual(expect.stringMatching(/^enc:v1:token-service:/));
      // Enrollment is announced in the same transaction: CAEP credential-change, change_type create.
      const announced = await db()
        .selectFrom('security_events')
        .select(['event_type', 'subject', 'event', 'txn'])
        .where('principal_id', '=', user.id)
        .execute();
      expect(announced).toHaveLength(1);
      expect(announced[0]).toMatchObject({
        event_type: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
        subject: { format: 'iss_sub', iss: TEST_ISSUER_URL, sub: user.id },
        event: { credential_type: 'app', change_type: 'create', initiating_entity: 'user' },
      });
      const audit = await db()
        .selectFrom('audit_log')
        .select(['action', 'txn'])
        .where('target_id', '=', user.id)
        .execute();
      expect(audit).toEqual([{ action: 'user.mfa.enroll', txn: announced[0]!.txn }]);

      // Refresh with rotation: the new refresh token works, the old one is refused.
      const first = tokens.refresh_token!;
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, first, {
          ...insecure,
          additionalParameters: { claims: CP1_CLAIMS },
        }),
      );
      expect(refreshed.refresh_token).toBeDefined();
      expect(refreshed.refresh_token).not.toBe(first);
      expect(claimsOf(refreshed.access_token).xms_cc).toEqual(['cp1']);

      // MSAL's refresh asks again for every scope of the sign-in, offline_access included.
      const msalRefresh = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, {
          ...insecure,
          additionalParameters: {
            claims: MSAL_CLAIMS,
            scope: 'api://orders/Orders.Read openid offline_access',
          },
        }),
      );
      expect(claimsOf(msalRefresh.access_token)).toMatchObject({ scp: 'Orders.Read', xms_cc: ['cp1'] });

      // A replayed refresh token is refused, as a dead token (and revokes the grant, RFC 9700 §4.14.2).
      const replay = await oauth.refreshTokenGrantRequest(as, client, clientAuth, first, insecure);
      const replayed = await expectError(replay, 400, 'invalid_grant');
      expect(replayed).toMatchObject({ suberror: 'bad_token' });

      // The code cannot be redeemed twice; a code is not a refresh token, so no suberror.
      const again = await redeem(callback, verifier, state);
      const reused = await expectError(again.response, 400, 'invalid_grant');
      expect(reused).not.toHaveProperty('suberror');
    });

    it('a refresh naming another API the app is granted gets a token for it (multi-resource, like Entra)', async () => {
      const inventory = await seedApi(db(), {
        audience: 'api://inventory',
        caeEnabled: true,
        scopes: ['Inventory.Read', 'Inventory.Write'],
      });
      await seedUser(db(), { username: 'multi', password: 'multi password' });
      const { callback, verifier, state } = await authorize(new TestBrowser(server.baseUrl), {
        username: 'multi',
        password: 'multi password',
      });
      const signedIn = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        (await redeem(callback, verifier, state)).response,
      );
      const refresh = (refreshToken: string, scope: string) =>
        oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, {
          ...insecure,
          additionalParameters: { scope, claims: CP1_CLAIMS },
        });

      // Not granted yet: refused, and the refresh token is left as it was.
      const refused = await refresh(signedIn.refresh_token!, 'api://inventory/Inventory.Read');
      await expectError(refused, 400, 'invalid_scope');

      await db()
        .insertInto('api_grants')
        .values({
          application_id: webApp.applicationId,
          api_id: inventory.id,
          scopes: JSON.stringify(['Inventory.Read']),
          roles: JSON.stringify([]),
        })
        .execute();
      await server.directoryChangesSeen();
      const notGranted = await refresh(signedIn.refresh_token!, 'api://inventory/Inventory.Write');
      await expectError(notGranted, 400, 'invalid_scope');

      const other = await oauth.processRefreshTokenResponse(
        as,
        client,
        await refresh(signedIn.refresh_token!, 'api://inventory/Inventory.Read'),
      );
      expect(claimsOf(other.access_token)).toMatchObject({
        aud: 'api://inventory',
        scp: 'Inventory.Read',
        xms_cc: ['cp1'],
      });
      // The rotated refresh token covers both APIs.
      const back = await oauth.processRefreshTokenResponse(
        as,
        client,
        await refresh(other.refresh_token!, 'api://orders/Orders.Read'),
      );
      expect(claimsOf(back.access_token)).toMatchObject({ aud: 'api://orders', scp: 'Orders.Read' });
    });

    it('asks an enrolled user for a code and refuses the same code twice', async () => {
      const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      const user = await seedUser(db(), { username: 'bob', password: 'bob password 1' });
      await enrollTotp(user.id, secret);
      const code = totpCode(secret, timeStep(Date.now()));
      const first = await authorize(new TestBrowser(server.baseUrl), {
        username: 'bob',
        password: 'bob password 1',
        totp: () => code,
      });
      expect(first.callback.searchParams.get('code')).toBeTruthy();

      const browser = new TestBrowser(server.baseUrl);
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid api://orders/Orders.Read',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      }).toString();
      const signIn = await browser.open(url.href);
      const totpPage = await browser.submit(signIn, { username: 'bob', password: 'bob password 1' });
      const refused = await browser.submit(totpPage, { code });
      expect(refused.status).toBe(401);
      expect(refused.html).toContain('already used');
      expect(refused.html).toContain('role="alert"');
    });

    /** A fresh browser at the sign-in page of a new authorization request. */
    async function openSignIn() {
      const browser = new TestBrowser(server.baseUrl);
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid api://orders/Orders.Read',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      }).toString();
      return { browser, page: await browser.open(url.href) };
    }

    it('refuses a wrong password on the page and a forged form', async () => {
      await seedUser(db(), { username: 'carol', password: 'carol password' });
      const { browser, page: signIn } = await openSignIn();
      const wrong = await browser.submit(signIn, { username: 'carol', password: 'nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.html).toContain('Wrong username or password');
      const forged = await browser.submit(wrong, {
        username: 'carol',
        password: 'carol password',
        csrf: 'forged',
      });
      expect(forged.status).toBe(403);
    });

    describe('smart lockout across sign-ins', () => {
      it('ten wrong passwords in fresh sign-ins lock the account name; then even the right one is refused unchecked', async () => {
        await seedUser(db(), { username: 'guessed', password: 'the real password' });
        // Four per sign-in: under the per-sign-in limit, so only the shared count can stop this.
        for (let failures = 0; failures < 10; ) {
          let { browser, page } = await openSignIn();
          for (let i = 0; i < 4 && failures < 10; i++, failures++) {
            page = await browser.submit(page, { username: 'guessed', password: `guess ${failures}` });
            expect(page.status).toBe(401);
          }
        }
        const { browser, page } = await openSignIn();
        const refused = await browser.submit(page, { username: 'Guessed', password: 'the real password' });
        expect(refused.status).toBe(429);
        expect(refused.html).toContain('Too many failed sign-in attempts. Try again in 1 minute.');
        await server.signInLog().flush();
        const logged = await db()
          .selectFrom('sign_in_log')
          .select(['result', 'failure_reason'])
          .where('error_code', '=', 'temporarily_locked')
          .execute();
        expect(logged).toEqual([
          {
            result: 'failure',
            failure_reason: expect.stringContaining('account name "Guessed"'),
          },
        ]);
      });

      it('a correct password does not reset the count while the second factor is being guessed', async () => {
        const secret = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
        const user = await seedUser(db(), { username: 'otp-guessed', password: 'known password' });
        await enrollTotp(user.id, secret);
        const wrongCode = (step: number) =>
          String((Number(totpCode(secret, step)) + 1) % 1_000_000).padStart(6, '0');
        for (let failures = 0; failures < 10; ) {
          const { browser, page } = await openSignIn();
          let totpPage = await browser.submit(page, { username: 'otp-guessed', password: 'known password' });
          expect(totpPage.html).toContain('code');
          for (let i = 0; i < 4 && failures < 10; i++, failures++) {
            totpPage = await browser.submit(totpPage, { code: wrongCode(timeStep(Date.now())) });
            expect(totpPage.status).toBe(401);
          }
        }
        const { browser, page } = await openSignIn();
        const refused = await browser.submit(page, { username: 'otp-guessed', password: 'known password' });
        expect(refused.status).toBe(429);
      });
    });

    it('refuses a PKCE mismatch and an unregistered redirect URI', async () => {
      await seedUser(db(), { username: 'dave', password: 'dave password' });
      const { callback, state } = await authorize(new TestBrowser(server.baseUrl), {
        username: 'dave',
        password: 'dave password',
      });
      const { response } = await redeem(callback, oauth.generateRandomCodeVerifier(), state);
      await expectError(response, 400, 'invalid_grant');

      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: 'https://evil.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      }).toString();
      const page = await new TestBrowser(server.baseUrl).open(url.href);
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.html).toContain('redirect_uri');
    });

    it('refuses an authorization request without PKCE', async () => {
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid',
      }).toString();
      const page = await new TestBrowser(server.baseUrl).open(url.href);
      expect(new URL(page.location!).searchParams.get('error')).toBe('invalid_request');
    });

    it('signing out ends that session only: its refresh tokens die and CAEP session-revoked names its sid', async () => {
      const user = await seedUser(db(), { username: 'leaving', password: 'leaving password' });
      const signIn = async (browser: TestBrowser) => {
        const { callback, verifier, state } = await authorize(browser, {
          username: 'leaving',
          password: 'leaving password',
        });
        return oauth.processAuthorizationCodeResponse(
          as,
          client,
          (await redeem(callback, verifier, state)).response,
        );
      };
      const browser = new TestBrowser(server.baseUrl);
      const leaving = await signIn(browser);
      const staying = await signIn(new TestBrowser(server.baseUrl));
      const sid = String(claimsOf(leaving.access_token).sid);
      expect(sid).not.toBe(String(claimsOf(staying.access_token).sid));

      const confirm = await browser.open(`${server.baseUrl}/session/end`);
      expect(confirm.status).toBe(200);
      expect(confirm.html).toContain('Sign out');
      const done = await browser.submit(confirm, { logout: 'yes' });
      expect(done.status).toBe(200);

      const events = await db()
        .selectFrom('security_events')
        .select(['event_type', 'subject', 'event', 'principal_id'])
        .where('principal_id', '=', user.id)
        .execute();
      expect(events).toEqual([
        {
          event_type: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
          principal_id: user.id,
          subject: {
            format: 'complex',
            user: { format: 'iss_sub', iss: TEST_ISSUER_URL, sub: user.id },
            session: { format: 'opaque', id: sid },
          },
          event: expect.objectContaining({
            initiating_entity: 'user',
            reason_admin: { en: 'the user signed out' },
          }),
        },
      ]);
      const refreshed = (token: string) =>
        oauth.refreshTokenGrantRequest(as, client, clientAuth, token, insecure);
      await expectError(await refreshed(leaving.refresh_token!), 400, 'invalid_grant');
      expect((await refreshed(staying.refresh_token!)).status).toBe(200);
      // The browser has no session any more: the next authorization shows the sign-in form.
      await authorize(browser, { username: 'leaving', password: 'leaving password' });
    });

    describe('the delegated admin scope of the admin API', () => {
      let consoleApp: SeededApp;
      let administrators: string;

      beforeAll(async () => {
        ({ administratorsGroupId: administrators } = await bootstrapDirectory(db(), {
          issuer: TEST_ISSUER_URL,
          dataDir: 'memory://',
        }));
        const adminApi = await db()
          .selectFrom('apis')
          .select(['id', 'audience'])
          .where('audience', '=', ADMIN_AUDIENCE)
          .executeTakeFirstOrThrow();
        consoleApp = await seedApplication(db(), {
          name: 'console',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: [REDIRECT_URI],
          grants: [{ api: adminApi, scopes: ['admin'] }],
        });
      });

      async function adminToken(username: string, password: string) {
        const verifier = oauth.generateRandomCodeVerifier();
        const url = new URL(as.authorization_endpoint!);
        url.search = new URLSearchParams({
          client_id: consoleApp.clientId,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          scope: `openid offline_access ${ADMIN_AUDIENCE}/admin`,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: 'admin',
        }).toString();
        const browser = new TestBrowser(server.baseUrl);
        const page = await browser.submit(await browser.open(url.href), { username, password });
        const console: oauth.Client = { client_id: consoleApp.clientId };
        const params = oauth.validateAuthResponse(as, console, new URL(page.location!), 'admin');
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          console,
          oauth.ClientSecretBasic(consoleApp.clientSecret!),
          params,
          REDIRECT_URI,
          verifier,
          insecure,
        );
        return oauth.processAuthorizationCodeResponse(as, console, response);
      }

      it('a member of OpenCAE Administrators gets it; anyone else gets a token without it', async () => {
        const admin = await seedUser(db(), { username: 'ada-admin', password: 'ada password' });
        await db()
          .insertInto('group_members')
          .values({ group_id: administrators, user_id: admin.id })
          .execute();
        await seedUser(db(), { username: 'not-admin', password: 'not password' });
        await server.directoryChangesSeen();

        const granted = await adminToken('ada-admin', 'ada password');
        const grantedClaims = (await verify(granted.access_token, ADMIN_AUDIENCE)).payload;
        expect(grantedClaims.scp).toBe('admin');

        const refused = await adminToken('not-admin', 'not password');
        const refusedClaims = (await verify(refused.access_token, ADMIN_AUDIENCE)).payload;
        expect(refusedClaims.scp ?? '').toBe('');
        expect(refused.scope ?? '').not.toContain(`${ADMIN_AUDIENCE}/admin`);

        // Membership is read at every token request: removed from the group, the next refresh has no admin.
        await db().deleteFrom('group_members').where('user_id', '=', admin.id).execute();
        await server.directoryChangesSeen();
        const console: oauth.Client = { client_id: consoleApp.clientId };
        const refreshed = await oauth.processRefreshTokenResponse(
          as,
          console,
          await oauth.refreshTokenGrantRequest(
            as,
            console,
            oauth.ClientSecretBasic(consoleApp.clientSecret!),
            granted.refresh_token!,
            insecure,
          ),
        );
        expect(claimsOf(refreshed.access_token).scp ?? '').toBe('');
      });
    });

    describe('sign-in time against password resets and revoked sessions', () => {
      /** The authorization request of the web app; the browser's issuer session may answer it. */
      async function authorizationUrl(verifier: string, state: string) {
        const url = new URL(as.authorization_endpoint!);
        url.search = new URLSearchParams({
          client_id: webApp.clientId,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          scope: 'openid offline_access api://orders/Orders.Read',
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          claims: CP1_CLAIMS,
        }).toString();
        return url.href;
      }

      const changes: [string, 'credentials_changed_at' | 'sessions_revoked_at'][] = [
        ['a password reset', 'credentials_changed_at'],
        ['revoked sessions', 'sessions_revoked_at'],
      ];
      it.each(changes)(
        'a browser whose issuer session predates %s is asked to sign in again',
        async (name, column) => {
          const username = `again-${column}`;
          const user = await seedUser(db(), { username, password: 'old password' });
          const browser = new TestBrowser(server.baseUrl);
          await authorize(browser, { username, password: 'old password' });
          // The session answers a second request without a page...
          const silent = await browser.open(await authorizationUrl(oauth.generateRandomCodeVerifier(), 'x'));
          expect(silent.location, name).toMatch(/[?&]code=/);
          // ...until the change, which may fall in the session's own second: that counts as after it.
          await db()
            .updateTable('users')
            .set({ [column]: new Date() })
            .where('id', '=', user.id)
            .execute();
          await server.directoryChangesSeen();
          const verifier = oauth.generateRandomCodeVerifier();
          const prompted = await browser.open(await authorizationUrl(verifier, 'after'));
          expect(prompted.location).toBeUndefined();
          expect(prompted.html).toContain('<label for="password">Password</label>');
          // Signing in again, even within the change's second, yields a code the token endpoint honours.
          const page = await browser.submit(prompted, { username, password: 'old password' });
          const callback = new URL(page.location!);
          const { response } = await redeem(callback, verifier, 'after');
          expect(response.status).toBe(200);
        },
      );

      it('a sign-in completing in the same second as a password reset, after it, is accepted', async (context) => {
        const username = 'same-second';
        const user = await seedUser(db(), { username, password: 'new password' });
        await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
        const changedAt = new Date();
        await db()
          .updateTable('users')
          .set({ credentials_changed_at: changedAt })
          .where('id', '=', user.id)
          .execute();
        await server.directoryChangesSeen();
        const { callback, verifier, state } = await authorize(new TestBrowser(server.baseUrl), {
          username,
          password: 'new password',
        });
        const inSameSecond = Math.floor(Date.now() / 1000) === Math.floor(changedAt.getTime() / 1000);
        const { response } = await redeem(callback, verifier, state);
        const body = (await response.json()) as { access_token?: string; error_description?: string };
        // Conclusive only when the sign-in finished within the reset's second (a loaded machine may not).
        if (!inSameSecond && body.access_token) context.skip();
        expect(body.error_description).toBeUndefined();
        expect(claimsOf(body.access_token!).sub).toBe(user.id);
      });

      it('a password reset between the password and the TOTP step restarts the sign-in', async () => {
        const secret = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
        const username = 'reset-mid-sign-in';
        const user = await seedUser(db(), { username, password: 'a password' });
        await enrollTotp(user.id, secret);
        const browser = new TestBrowser(server.baseUrl);
        const signIn = await browser.open(
          await authorizationUrl(oauth.generateRandomCodeVerifier(), oauth.generateRandomState()),
        );
        const totpPage = await browser.submit(signIn, { username, password: 'a password' });
        expect(totpPage.html).toContain('name="code"');
        await db()
          .updateTable('users')
          .set({ credentials_changed_at: new Date() })
          .where('id', '=', user.id)
          .execute();
        await server.directoryChangesSeen();
        const restarted = await browser.submit(totpPage, { code: totpCode(secret, timeStep(Date.now())) });
        expect(restarted.status).toBe(409);
        expect(restarted.location).toBeUndefined();
        expect(restarted.html).toContain('Sign in again');
        expect(restarted.html).toContain('<label for="password">Password</label>');
      });
    });

    it('introspection (RFC 7662): user access tokens for the API application, refresh tokens for their client, both inactive once sessions are revoked', async () => {
      const user = await seedUser(db(), { username: 'ivy', password: 'ivy password' });
      const resourceServer = await seedApplication(db(), {
        name: 'orders-api',
        grants: [{ api: caeApi, roles: ['Orders.Admin'] }],
      });
      const endpoints = { ...as, introspection_endpoint: `${server.baseUrl}/token/introspection` };
      const introspect = async (caller: SeededApp, token: string) =>
        oauth.processIntrospectionResponse(
          endpoints,
          { client_id: caller.clientId },
          await oauth.introspectionRequest(
            endpoints,
            { client_id: caller.clientId },
            oauth.ClientSecretBasic(caller.clientSecret!),
            token,
            insecure,
          ),
        );
      const { callback, verifier, state } = await authorize(new TestBrowser(server.baseUrl), {
        username: 'ivy',
        password: 'ivy password',
      });
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        (await redeem(callback, verifier, state)).response,
      );
      const accessClaims = claimsOf(tokens.access_token);
      expect(await introspect(resourceServer, tokens.access_token)).toMatchObject({
        active: true,
        sub: user.id,
        idtyp: 'user',
        scope: 'Orders.Read',
        scp: 'Orders.Read',
        sid: accessClaims.sid,
        client_id: webApp.clientId,
        xms_cc: ['cp1'],
      });
      expect(await introspect(webApp, tokens.refresh_token!)).toMatchObject({
        active: true,
        client_id: webApp.clientId,
        sub: user.id,
      });
      // A refresh token is its client's business only.
      expect(await introspect(resourceServer, tokens.refresh_token!)).toEqual({ active: false });

      await db()
        .updateTable('users')
        .set({ sessions_revoked_at: new Date(Date.now() + 1000) })
        .where('id', '=', user.id)
        .execute();
      await server.directoryChangesSeen();
      expect(await introspect(resourceServer, tokens.access_token)).toEqual({ active: false });
      expect(await introspect(webApp, tokens.refresh_token!)).toEqual({ active: false });
    });

    describe('refresh is refused after each state change', () => {
      const changes: [string, (userId: string) => Promise<unknown>, RegExp][] = [
        [
          'disabled',
          (id) => db().updateTable('users').set({ enabled: false }).where('id', '=', id).execute(),
          /disabled/,
        ],
        [
          'deleted',
          (id) => db().updateTable('users').set({ deleted_at: new Date() }).where('id', '=', id).execute(),
          /deleted/,
        ],
        [
          'sessions revoked',
          (id) =>
            db()
              .updateTable('users')
              .set({ sessions_revoked_at: new Date(Date.now() + 1000) })
              .where('id', '=', id)
              .execute(),
          /sessions were revoked/,
        ],
        [
          'credentials changed',
          (id) =>
            db()
              .updateTable('users')
              .set({ credentials_changed_at: new Date(Date.now() + 1000) })
              .where('id', '=', id)
              .execute(),
          /credentials changed/,
        ],
        [
          'high risk',
          (id) => db().updateTable('users').set({ risk_level: 'high' }).where('id', '=', id).execute(),
          /high risk/,
        ],
      ];
      it.each(changes)('%s', async (name, change, reason) => {
        const username = `user-${name.replace(/\s/g, '-')}`;
        const user = await seedUser(db(), { username, password: 'a password' });
        const { callback, verifier, state } = await authorize(new TestBrowser(server.baseUrl), {
          username,
          password: 'a password',
        });
        const tokens = await oauth.processAuthorizationCodeResponse(
          as,
          client,
          (await redeem(callback, verifier, state)).response,
        );
        await change(user.id);
        await server.directoryChangesSeen();
        const refused = await oauth.refreshTokenGrantRequest(
          as,
          client,
          clientAuth,
          tokens.refresh_token!,
          insecure,
        );
        const body = await expectError(refused, 400, 'invalid_grant', reason);
        // What Entra ID says of a dead refresh token: MSAL asks for interaction and drops the token.
        expect(body).toMatchObject({ suberror: 'bad_token' });
      });

      it('the application disabled', async () => {
        const user = await seedUser(db(), { username: 'erin', password: 'erin password' });
        expect(user.id).toBeTruthy();
        const { callback, verifier, state } = await authorize(new TestBrowser(server.baseUrl), {
          username: 'erin',
          password: 'erin password',
        });
        const tokens = await oauth.processAuthorizationCodeResponse(
          as,
          client,
          (await redeem(callback, verifier, state)).response,
        );
        await db()
          .updateTable('service_principals')
          .set({ enabled: false })
          .where('id', '=', webApp.servicePrincipalId)
          .execute();
        await server.directoryChangesSeen();
        try {
          const refused = await oauth.refreshTokenGrantRequest(
            as,
            client,
            clientAuth,
            tokens.refresh_token!,
            insecure,
          );
          await expectError(refused, 401, 'invalid_client', /disabled/);
        } finally {
          await db()
            .updateTable('service_principals')
            .set({ enabled: true })
            .where('id', '=', webApp.servicePrincipalId)
            .execute();
          await server.directoryChangesSeen();
        }
      });
    });
  });

  it('signs with the key its JWKS publishes', async () => {
    const response = await clientCredentials(daemon, { scope: 'api://orders/.default' });
    const { access_token } = (await response.json()) as { access_token: string };
    const jwks = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys.map((key) => key.kid)).toContain(decodeProtectedHeader(access_token).kid);
    expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
  });
});
