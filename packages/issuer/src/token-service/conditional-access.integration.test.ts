/**
 * Conditional Access at issuance over HTTP, driven by oauth4webapi: every grant (client credentials,
 * authorization code, refresh) is evaluated; a block refuses the token and names the policy; report-only
 * changes nothing; CAE disabled for a workload identity gives a standard token without xms_cc; the
 * split tunnel gives a one-hour token with IP checks suspended, strict location enforcement blocks it;
 * a policy's MFA requirement is met at the sign-in page, and a refresh without it is refused. Clients
 * connect from 127.0.0.1 (a trusted named location) or 127.0.0.2 (outside it): real, distinct source IPs.
 */
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import type { PolicyInput } from '../conditional-access/policy.js';
import { type ConditionalAccessService, conditionalAccessFor } from '../conditional-access/service.js';
import { timeStep, totpCode } from './interaction/totp.js';
import { TestBrowser } from './test-browser.js';
import { type SeededApp, seedApi, seedApplication, seedUser } from './test-fixtures.js';
import { startTestIssuer, TEST_ISSUER_URL, type TestIssuer } from './test-server.js';
import { canBind, fetchFrom } from './test-source-address.js';

const HOUR = 3600;
const AUDIENCE = 'api://orders';
const OUTSIDE = '127.0.0.2';
const CP1 = { xms_cc: { values: ['cp1'] } };
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const fromOutside = fetchFrom(OUTSIDE);

const haveSecondLoopback = await canBind(OUTSIDE);
if (!haveSecondLoopback)
  console.warn(
    `\n  SKIPPED: Conditional Access at issuance — ${OUTSIDE} is not a usable source address here.\n`,
  );

const serverUrl = await postgresUrl();
const engines = [
  { name: 'PGlite', database: async () => ({ url: undefined as string | undefined, drop: async () => {} }) },
  ...(serverUrl ? [{ name: 'PostgreSQL', database: () => createTestDatabase(serverUrl) }] : []),
];

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe.runIf(haveSecondLoopback).each(engines)(
  'Conditional Access at issuance on $name',
  ({ database }) => {
    let server: TestIssuer;
    let drop: () => Promise<void>;
    let as: oauth.AuthorizationServer;
    let ca: ConditionalAccessService;
    let api: Awaited<ReturnType<typeof seedApi>>;

    const db = () => server.issuer.context.db;

    async function policy(input: PolicyInput) {
      const { value } = await ca.store.createPolicy(input, 'test');
      return value;
    }

    /** A block on every location but the trusted office, for the given principals. */
    const outsideTheOffice = (
      assignments: PolicyInput['assignments'],
      o: { state?: PolicyInput['state']; caeMode?: 'default' | 'strictLocation' } = {},
    ): PolicyInput => ({
      name: `Block outside the office ${randomUUID().slice(0, 8)}`,
      state: o.state ?? 'enabled',
      assignments,
      targetApis: { include: [AUDIENCE] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
      sessionControls: { caeMode: o.caeMode ?? 'default' },
    });

    async function clientCredentials(
      app: SeededApp,
      claims: Record<string, unknown>,
      from: typeof fetch = fetch,
    ): Promise<Response> {
      return oauth.clientCredentialsGrantRequest(
        as,
        { client_id: app.clientId },
        oauth.ClientSecretBasic(app.clientSecret!),
        { scope: `${AUDIENCE}/.default`, claims: JSON.stringify({ access_token: claims }) },
        { ...insecure, [oauth.customFetch]: from },
      );
    }

    async function errorOf(response: Response) {
      const body = (await response.json()) as { error?: string; error_description?: string };
      return { status: response.status, ...body };
    }

    const daemon = () => seedApplication(db(), { grants: [{ api, roles: ['Orders.Read.All'] }] });

    beforeAll(async () => {
      const created = await database();
      drop = created.drop;
      server = await startTestIssuer({ databaseUrl: created.url });
      as = await oauth.processDiscoveryResponse(
        new URL(TEST_ISSUER_URL),
        await fetch(`${server.baseUrl}/.well-known/openid-configuration`),
      );
      ca = conditionalAccessFor(server.issuer.context);
      api = await seedApi(db(), {
        audience: AUDIENCE,
        caeEnabled: true,
        scopes: ['Orders.Read'],
        appRoles: ['Orders.Read.All'],
      });
      await ca.store.createNamedLocation({ name: 'office', trusted: true, ranges: ['127.0.0.1/32'] }, 'test');
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    describe('client credentials', () => {
      it('a blocking location policy refuses a client outside the allowed locations and names the policy', async () => {
        const app = await daemon();
        const blocking = await policy(
          outsideTheOffice({ servicePrincipals: { include: [app.servicePrincipalId] } }),
        );

        const inside = await clientCredentials(app, CP1);
        expect(inside.status).toBe(200);
        const token = claimsOf(((await inside.json()) as { access_token: string }).access_token);
        expect(token).toMatchObject({ xms_lp: [blocking.id], xms_cc: ['cp1'], ipaddr: '127.0.0.1' });
        expect(token.xms_pv).toBe(await ca.store.currentVersion());
        expect(token.xms_ipchk).toBeUndefined();

        const refused = await errorOf(await clientCredentials(app, CP1, fromOutside));
        expect(refused).toMatchObject({ status: 400, error: 'invalid_grant' });
        expect(refused.error_description).toContain(`"${blocking.name}" (${blocking.id})`);
      });

      it('a report-only policy does not refuse, nor put its id in xms_lp', async () => {
        const app = await daemon();
        await policy(
          outsideTheOffice(
            { servicePrincipals: { include: [app.servicePrincipalId] } },
            { state: 'reportOnly' },
          ),
        );
        const response = await clientCredentials(app, CP1, fromOutside);
        expect(response.status).toBe(200);
        const token = claimsOf(((await response.json()) as { access_token: string }).access_token);
        expect(token).toMatchObject({ xms_lp: [], xms_cc: ['cp1'], ipaddr: OUTSIDE });
      });

      it('a workload identity with CAE disabled gets a 60–90 min token without xms_cc, even with cp1', async () => {
        const app = await daemon();
        await policy({
          name: 'No CAE for this daemon',
          state: 'enabled',
          assignments: { servicePrincipals: { include: [app.servicePrincipalId] } },
          targetApis: { include: ['All'] },
          sessionControls: { caeMode: 'disabled' },
        });
        const response = await clientCredentials(app, CP1);
        const body = (await response.json()) as Record<string, unknown>;
        expect(response.status).toBe(200);
        expect(body.expires_in).toBeGreaterThanOrEqual(HOUR);
        expect(body.expires_in).toBeLessThanOrEqual(1.5 * HOUR);
        expect(body.refresh_in).toBeUndefined();
        expect(claimsOf(String(body.access_token)).xms_cc).toBeUndefined();
        // Another daemon, not assigned, still gets a CAE token.
        const other = await clientCredentials(await daemon(), CP1);
        expect(claimsOf(((await other.json()) as { access_token: string }).access_token).xms_cc).toEqual([
          'cp1',
        ]);
      });

      it('split tunnel: the issuer sees an allowed IP, the API a blocked one → a one-hour token with IP checks suspended', async () => {
        const app = await daemon();
        const blocking = await policy(
          outsideTheOffice({ servicePrincipals: { include: [app.servicePrincipalId] } }),
        );
        const response = await clientCredentials(app, { ...CP1, xms_rp_ipaddr: { value: '203.0.113.7' } });
        const body = (await response.json()) as Record<string, unknown>;
        expect(response.status).toBe(200);
        expect(body.expires_in).toBe(HOUR);
        expect(body.refresh_in).toBeUndefined();
        const token = claimsOf(String(body.access_token));
        expect(token).toMatchObject({ xms_ipchk: 'suspended', xms_lp: [blocking.id], xms_cc: ['cp1'] });
        expect(Number(token.exp) - Number(token.iat)).toBe(HOUR);
      });

      it('split tunnel under strict location enforcement is blocked', async () => {
        const app = await daemon();
        const strict = await policy(
          outsideTheOffice(
            { servicePrincipals: { include: [app.servicePrincipalId] } },
            { caeMode: 'strictLocation' },
          ),
        );
        const refused = await errorOf(
          await clientCredentials(app, { ...CP1, xms_rp_ipaddr: { value: '203.0.113.7' } }),
        );
        expect(refused).toMatchObject({ status: 400, error: 'invalid_grant' });
        expect(refused.error_description).toContain(strict.id);
        expect(refused.error_description).toContain('203.0.113.7');
        expect(refused.error_description).toContain('strict location enforcement');
        // Without a second view of its IP, the same client is allowed.
        expect((await clientCredentials(app, CP1)).status).toBe(200);
      });
    });

    describe('users: authorization code and refresh', () => {
      let webApp: SeededApp;
      let client: oauth.Client;

      beforeAll(async () => {
        webApp = await seedApplication(db(), {
          name: 'Orders Web',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: [REDIRECT_URI],
          grants: [{ api, scopes: ['Orders.Read'] }],
        });
        client = { client_id: webApp.clientId };
      });

      async function authorizationUrl(verifier: string) {
        const url = new URL(as.authorization_endpoint!);
        url.search = new URLSearchParams({
          client_id: webApp.clientId,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          scope: `openid offline_access ${AUDIENCE}/Orders.Read`,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: 'state',
          claims: JSON.stringify({ access_token: CP1 }),
        }).toString();
        return url.href;
      }

      async function redeem(location: string, verifier: string) {
        const params = oauth.validateAuthResponse(as, client, new URL(location), 'state');
        return oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(
            as,
            client,
            oauth.ClientSecretBasic(webApp.clientSecret!),
            params,
            REDIRECT_URI,
            verifier,
            insecure,
          ),
        );
      }

      const refresh = (refreshToken: string, from: typeof fetch = fetch) =>
        oauth.refreshTokenGrantRequest(
          as,
          client,
          oauth.ClientSecretBasic(webApp.clientSecret!),
          refreshToken,
          {
            ...insecure,
            [oauth.customFetch]: from,
          },
        );

      async function signIn(browser: TestBrowser, username: string, password: string) {
        const verifier = oauth.generateRandomCodeVerifier();
        const page = await browser.open(await authorizationUrl(verifier));
        const after = await browser.submit(page, { username, password });
        return { page: after, verifier };
      }

      it('a refresh from outside the allowed locations is refused, and the refresh token still works inside', async () => {
        const user = await seedUser(db(), { username: 'roaming', password: 'roaming password' });
        const { page, verifier } = await signIn(
          new TestBrowser(server.baseUrl),
          'roaming',
          'roaming password',
        );
        const tokens = await redeem(page.location!, verifier);
        expect(claimsOf(tokens.access_token).xms_lp).toEqual([]);
        const blocking = await policy(outsideTheOffice({ users: { include: [user.id] } }));

        const refused = await errorOf(await refresh(tokens.refresh_token!, fromOutside));
        // message_only, not bad_token: MSAL shows the message and keeps the refresh token.
        expect(refused).toMatchObject({ status: 400, error: 'invalid_grant', suberror: 'message_only' });
        expect(refused.error_description).toContain(blocking.name);
        // Refused before rotation: the client keeps its refresh token.
        const inside = await oauth.processRefreshTokenResponse(
          as,
          client,
          await refresh(tokens.refresh_token!),
        );
        expect(claimsOf(inside.access_token)).toMatchObject({ sub: user.id, xms_lp: [blocking.id] });
      });

      it('a user a policy blocks is refused at the sign-in page with access_denied naming the policy', async () => {
        const user = await seedUser(db(), { username: 'blocked', password: 'blocked password' });
        const blocking = await policy({
          name: 'Blocked user',
          state: 'enabled',
          assignments: { users: { include: [user.id] } },
          targetApis: { include: [AUDIENCE] },
          grantControls: { block: true },
        });
        const { page } = await signIn(new TestBrowser(server.baseUrl), 'blocked', 'blocked password');
        const callback = new URL(page.location!);
        expect(callback.searchParams.get('error')).toBe('access_denied');
        expect(callback.searchParams.get('error_description')).toContain(`"Blocked user" (${blocking.id})`);
      });

      it('MFA required by a policy: refresh without MFA → interaction_required; the sign-in page enrolls TOTP', async () => {
        const user = await seedUser(db(), { username: 'needs-mfa', password: 'mfa password' });
        const browser = new TestBrowser(server.baseUrl);
        const first = await signIn(browser, 'needs-mfa', 'mfa password');
        const tokens = await redeem(first.page.location!, first.verifier);
        const requiring = await policy({
          name: 'MFA for orders',
          state: 'enabled',
          assignments: { users: { include: [user.id] } },
          targetApis: { include: [AUDIENCE] },
          grantControls: { requireMfa: true },
        });

        const refused = await errorOf(await refresh(tokens.refresh_token!));
        expect(refused).toMatchObject({ status: 400, error: 'interaction_required' });
        expect(refused.error_description).toContain(requiring.id);

        // The browser's session has no second factor: the sign-in page comes back and enrolls one.
        const verifier = oauth.generateRandomCodeVerifier();
        const signInPage = await browser.open(await authorizationUrl(verifier));
        expect(signInPage.location).toBeUndefined();
        const enroll = await browser.submit(signInPage, { username: 'needs-mfa', password: 'mfa password' });
        const secret = /<code id="secret">([A-Z2-7]+)<\/code>/.exec(enroll.html)?.[1];
        expect(secret, enroll.html.slice(0, 300)).toBeDefined();
        const done = await browser.submit(enroll, { code: totpCode(secret!, timeStep(Date.now())) });
        const withMfa = await redeem(done.location!, verifier);
        expect(claimsOf(withMfa.access_token).sub).toBe(user.id);
        const refreshed = await oauth.processRefreshTokenResponse(
          as,
          client,
          await refresh(withMfa.refresh_token!),
        );
        expect(claimsOf(refreshed.access_token).sub).toBe(user.id);
      });
    });
  },
);
