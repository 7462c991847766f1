/**
 * The token service's sign-in log over HTTP: every token request, success or refusal, and every sign-in
 * the sign-in page refuses, becomes one row with who, which app and API, both views of the client IP,
 * the capability, whether a CAE token was issued and for how long, each Conditional Access policy's
 * result, the error, and the request's correlation id.
 */
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConditionalAccessService, conditionalAccessFor } from '../conditional-access/service.js';
import type { SignInLogTable } from '../storage/schema.js';
import { TestBrowser } from './test-browser.js';
import { type SeededApp, seedApi, seedApplication, seedUser } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';

const AUDIENCE = 'api://ledger';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const CP1 = { xms_cc: { values: ['CP1'] } };
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Row = { [K in keyof SignInLogTable]: unknown };

describe('sign-in log of the token service', () => {
  let server: TestIssuer;
  let as: oauth.AuthorizationServer;
  let ca: ConditionalAccessService;
  let api: Awaited<ReturnType<typeof seedApi>>;
  const db = () => server.issuer.context.db;

  /** The rows about `principalId` (or client), once the writer wrote them (entries are queued after the answer). */
  async function rowsFor(column: 'principal_id' | 'client_id', value: string, count = 1): Promise<Row[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await server.signInLog().flush();
      const rows = await db()
        .selectFrom('sign_in_log')
        .selectAll()
        .where(column, '=', value)
        .orderBy('id')
        .execute();
      if (rows.length >= count || Date.now() > deadline) return rows as unknown as Row[];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const clientCredentials = (app: SeededApp, accessTokenClaims: Record<string, unknown>) =>
    oauth.clientCredentialsGrantRequest(
      as,
      { client_id: app.clientId },
      oauth.ClientSecretBasic(app.clientSecret!),
      { scope: `${AUDIENCE}/.default`, claims: JSON.stringify({ access_token: accessTokenClaims }) },
      insecure,
    );

  beforeAll(async () => {
    server = await startTestIssuer();
    as = await oauth.processDiscoveryResponse(
      new URL(TEST_ISSUER_URL),
      await fetch(`${server.baseUrl}/.well-known/openid-configuration`),
    );
    ca = conditionalAccessFor(server.issuer.context);
    api = await seedApi(db(), {
      audience: AUDIENCE,
      caeEnabled: true,
      scopes: ['Read'],
      appRoles: ['Read.All'],
    });
    await ca.store.createNamedLocation({ name: 'here', trusted: true, ranges: ['127.0.0.1/32'] }, 'test');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a client-credentials success: service principal, both IPs, capability, CAE token, lifetime, policy results', async () => {
    const app = await seedApplication(db(), {
      name: 'ledger-daemon',
      grants: [{ api, roles: ['Read.All'] }],
    });
    const { value: policy } = await ca.store.createPolicy(
      {
        name: 'Ledger only from here',
        state: 'enabled',
        assignments: { servicePrincipals: { include: [app.servicePrincipalId] } },
        targetApis: { include: [AUDIENCE] },
        conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
        grantControls: { block: true },
      },
      'test',
    );
    const response = await clientCredentials(app, { ...CP1, xms_rp_ipaddr: { value: '198.51.100.9' } });
    expect(response.status).toBe(200);

    const [row] = await rowsFor('principal_id', app.servicePrincipalId);
    expect(row).toMatchObject({
      principal_type: 'service_principal',
      principal_name: 'ledger-daemon',
      client_id: app.clientId,
      app_name: 'ledger-daemon',
      api_audience: AUDIENCE,
      grant_type: 'client_credentials',
      issuer_ip: '127.0.0.1',
      resource_ip: '198.51.100.9',
      client_capabilities: ['cp1'],
      cae_token: true,
      lifetime_seconds: 3600,
      result: 'success',
      error_code: null,
      failure_reason: null,
    });
    // The request id the client got back, unique (a UUID), not a per-process counter.
    expect(response.headers.get('x-request-id')).toMatch(UUID);
    expect(row?.correlation_id).toBe(response.headers.get('x-request-id'));
    expect(row?.conditional_access).toEqual([
      expect.objectContaining({
        policyId: policy.id,
        policyName: 'Ledger only from here',
        outcome: 'notApplied',
        reason: 'locationNotMatched',
        ipVariation: true,
      }),
    ]);
  });

  it('a refusal by policy: the error, the reason and the blocking policy', async () => {
    const app = await seedApplication(db(), {
      name: 'blocked-daemon',
      grants: [{ api, roles: ['Read.All'] }],
    });
    const { value: policy } = await ca.store.createPolicy(
      {
        name: `Block ${randomUUID().slice(0, 6)}`,
        state: 'enabled',
        assignments: { servicePrincipals: { include: [app.servicePrincipalId] } },
        targetApis: { include: ['All'] },
        grantControls: { block: true },
      },
      'test',
    );
    expect((await clientCredentials(app, {})).status).toBe(400);
    const [row] = await rowsFor('principal_id', app.servicePrincipalId);
    expect(row).toMatchObject({
      principal_type: 'service_principal',
      client_id: app.clientId,
      api_audience: AUDIENCE,
      grant_type: 'client_credentials',
      client_capabilities: [],
      cae_token: false,
      lifetime_seconds: null,
      result: 'failure',
      error_code: 'invalid_grant',
    });
    expect(row?.failure_reason).toContain(policy.name);
    expect(row?.conditional_access).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policyId: policy.id, outcome: 'applied', controls: ['block'] }),
      ]),
    );
  });

  it('refusals before any principal is known: a wrong secret, a malformed claims parameter', async () => {
    const app = await seedApplication(db(), {
      name: 'careless-daemon',
      grants: [{ api, roles: ['Read.All'] }],
    });
    const wrong = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: app.clientId },
      oauth.ClientSecretBasic('not the secret'),
      { scope: `${AUDIENCE}/.default` },
      insecure,
    );
    expect(wrong.status).toBe(401);
    const malformed = await fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, claims: '{' }),
    });
    expect(malformed.status).toBe(400);
    const rows = await rowsFor('client_id', app.clientId, 2);
    expect(rows).toEqual([
      expect.objectContaining({
        result: 'failure',
        error_code: 'invalid_client',
        principal_id: null,
        correlation_id: wrong.headers.get('x-request-id'),
      }),
      expect.objectContaining({
        result: 'failure',
        error_code: 'invalid_request',
        grant_type: 'client_credentials',
        correlation_id: malformed.headers.get('x-request-id'),
      }),
    ]);
    expect(wrong.headers.get('x-request-id')).toMatch(UUID);
    expect(malformed.headers.get('x-request-id')).toMatch(UUID);
    expect(wrong.headers.get('x-request-id')).not.toBe(malformed.headers.get('x-request-id'));
  });

  describe('users', () => {
    let webApp: SeededApp;
    beforeAll(async () => {
      webApp = await seedApplication(db(), {
        name: 'Ledger Web',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT_URI],
        grants: [{ api, scopes: ['Read'] }],
      });
    });

    async function signIn(username: string, password: string) {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: webApp.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: `openid ${AUDIENCE}/Read`,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 's',
        claims: JSON.stringify({ access_token: CP1 }),
      }).toString();
      const browser = new TestBrowser(server.baseUrl);
      const page = await browser.submit(await browser.open(url.href), { username, password });
      return { location: new URL(page.location!), verifier };
    }

    it('a guest redeeming a code: principal type guest, CAE token and its lifetime', async () => {
      const guest = await seedUser(db(), { username: 'guest-ledger', password: 'guest password' });
      await db().updateTable('users').set({ kind: 'guest' }).where('id', '=', guest.id).execute();
      const { location, verifier } = await signIn('guest-ledger', 'guest password');
      const client = { client_id: webApp.clientId };
      const params = oauth.validateAuthResponse(as, client, location, 's');
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(webApp.clientSecret!),
        params,
        REDIRECT_URI,
        verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
      const [row] = await rowsFor('principal_id', guest.id);
      expect(row).toMatchObject({
        principal_type: 'guest',
        principal_name: 'guest-ledger',
        client_id: webApp.clientId,
        app_name: 'Ledger Web',
        api_audience: AUDIENCE,
        grant_type: 'authorization_code',
        client_capabilities: ['cp1'],
        cae_token: true,
        lifetime_seconds: tokens.expires_in,
        result: 'success',
      });
    });

    it('a sign-in the sign-in page refuses (access_denied) is logged with the user and the policy', async () => {
      const user = await seedUser(db(), { username: 'denied-ledger', password: 'denied password' });
      const { value: policy } = await ca.store.createPolicy(
        {
          name: 'No ledger for this user',
          state: 'enabled',
          assignments: { users: { include: [user.id] } },
          targetApis: { include: [AUDIENCE] },
          grantControls: { block: true },
        },
        'test',
      );
      const { location } = await signIn('denied-ledger', 'denied password');
      expect(location.searchParams.get('error')).toBe('access_denied');
      const [row] = await rowsFor('principal_id', user.id);
      expect(row).toMatchObject({
        principal_type: 'user',
        principal_name: 'denied-ledger',
        client_id: webApp.clientId,
        app_name: 'Ledger Web',
        api_audience: AUDIENCE,
        grant_type: 'authorization_code',
        issuer_ip: '127.0.0.1',
        client_capabilities: ['cp1'],
        cae_token: false,
        result: 'failure',
        error_code: 'access_denied',
      });
      expect(row?.failure_reason).toContain(policy.id);
      expect(row?.correlation_id).toEqual(expect.any(String));
      expect(row?.conditional_access).toEqual(
        expect.arrayContaining([expect.objectContaining({ policyId: policy.id, outcome: 'applied' })]),
      );
    });
  });
});
