/**
 * Microsoft's own MSAL for Node (@azure/msal-node, unmodified) against the issuer through a
 * TLS-terminating proxy, as a customer would run it: the issuer started with an https issuer URL and the
 * proxy as its only trusted proxy, MSAL configured for a non-Entra OpenID Connect authority
 * (protocolMode OIDC, the authority in knownAuthorities) and trusting the proxy's CA through
 * NODE_EXTRA_CA_CERTS. What MSAL put on the wire is checked at the proxy, what it made of the answers
 * in its own terms (expiresOn, refreshOn, fromCache, InteractionRequiredAuthError).
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { revocationClaims } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApplication } from '../e2e/support/admin-api.js';
import { freePort, type RunningIssuer, startIssuer, storageEngines } from '../e2e/support/issuer.js';
import { REDIRECT_URI } from '../e2e/support/scenario.js';
import { type MsalAnswer, type MsalProcess, startMsal } from './support/msal-process.js';
import type { AppOptions, TokenSummary } from './support/msal-worker.js';
import { createClientCertificate, createThrowawayCa, type ThrowawayCa } from './support/throwaway-ca.js';
import { type ProxiedRequest, startTlsProxy, type TlsProxy } from './support/tls-proxy.js';

const HOUR = 3600;

// The throwaway CA is made with the openssl CLI: without it the suite is skipped, visibly (CI fails).
const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!haveOpenssl) {
  if (process.env.OPENCAE_REQUIRE_SERVICES === '1')
    throw new Error('the openssl CLI is required (OPENCAE_REQUIRE_SERVICES=1) but was not found');
  console.warn('\n  SKIPPED: MSAL interop tests — no openssl CLI (apt-get install openssl).\n');
}
const AUDIENCE = 'api://msal-orders';

let ca: ThrowawayCa;
let proxy: TlsProxy;
let issuer: RunningIssuer;
let msal: MsalProcess;
let issuerUrl: string;
let daemon: AppOptions;
let webApp: AppOptions;

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

function tokens(answer: MsalAnswer): TokenSummary {
  if (answer.failure) throw new Error(`MSAL failed: ${JSON.stringify(answer.failure)}`);
  return answer.result;
}

/** The token requests MSAL sent since `since` (an index into the proxy's record). */
function tokenRequests(since: number): ProxiedRequest[] {
  return proxy.requests.slice(since).filter((r) => r.method === 'POST' && r.url.startsWith('/token'));
}

/** The access-token part of the claims parameter MSAL sent. */
function accessTokenClaims(request: { form: Record<string, string> } | URLSearchParams) {
  const claims = request instanceof URLSearchParams ? request.get('claims') : request.form.claims;
  return (JSON.parse(claims ?? '{}') as { access_token?: Record<string, unknown> }).access_token;
}

describe.skipIf(!haveOpenssl)('MSAL for Node through a TLS proxy', () => {
  beforeAll(async () => {
    ca = await createThrowawayCa();
    const proxyPort = await freePort();
    issuerUrl = `https://localhost:${proxyPort}`;
    issuer = await startIssuer(storageEngines[0]!, { issuerUrl, trustProxy: ['127.0.0.1'] });
    proxy = await startTlsProxy({ key: ca.key, cert: ca.cert, upstream: issuer.localUrl, port: proxyPort });
    msal = startMsal({ authority: issuerUrl, caFile: ca.caFile });

    await issuer.admin.createApi(AUDIENCE);
    const createdDaemon = await issuer.admin.createDaemon('msal-daemon', AUDIENCE);
    daemon = {
      clientId: createdDaemon.application.client_id,
      clientSecret: createdDaemon.client_secret!.value,
      capabilities: ['cp1'],
    };
    const createdWebApp = await issuer.admin.createWebApp('msal-web', AUDIENCE, REDIRECT_URI);
    webApp = {
      clientId: createdWebApp.application.client_id,
      clientSecret: createdWebApp.client_secret!.value,
      capabilities: ['cp1'],
    };
  });
  afterAll(async () => {
    await msal?.close();
    await proxy?.close();
    await issuer?.close();
    await ca?.remove();
  });

  describe('MSAL for Node as a daemon (client credentials)', () => {
    it('discovers the issuer over HTTPS and, declaring cp1, gets a 20–28 h token with xms_cc and refreshOn from refresh_in', async () => {
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({ op: 'clientCredentials', app: daemon, scopes: [`${AUDIENCE}/.default`] }),
      );
      expect(proxy.requests[since]).toMatchObject({
        method: 'GET',
        url: '/.well-known/openid-configuration',
      });
      const [sent] = tokenRequests(since);
      expect(sent?.form).toMatchObject({ grant_type: 'client_credentials', 'x-client-SKU': 'msal.js.node' });
      expect(accessTokenClaims(sent!)).toEqual({ xms_cc: { values: ['cp1'] } });

      const claims = claimsOf(result.accessToken);
      expect(claims).toMatchObject({ iss: issuerUrl, aud: AUDIENCE, xms_cc: ['cp1'], idtyp: 'app' });
      // The client address the issuer saw is the one the trusted proxy forwarded.
      expect(claims.ipaddr).toBe('127.0.0.1');
      const iat = claims.iat as number;
      const lifetime = (claims.exp as number) - iat;
      expect(lifetime).toBeGreaterThanOrEqual(20 * HOUR);
      expect(lifetime).toBeLessThanOrEqual(28 * HOUR);
      // MSAL counts expires_in and refresh_in from its own clock when the answer arrived.
      expect(Math.abs(result.expiresOn! / 1000 - (claims.exp as number))).toBeLessThan(60);
      expect(result.refreshOn).not.toBeNull();
      expect(Math.abs((result.refreshOn! - iat * 1000) / 1000 - lifetime / 2)).toBeLessThan(60);
    });

    it('serves the next request from its cache until refreshOn', async () => {
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({ op: 'clientCredentials', app: daemon, scopes: [`${AUDIENCE}/.default`] }),
      );
      expect(result.fromCache).toBe(true);
      expect(tokenRequests(since)).toHaveLength(0);
    });

    it('without cp1, gets a 60–90 min token without xms_cc and no refreshOn', async () => {
      const result = tokens(
        await msal.run({
          op: 'clientCredentials',
          app: { ...daemon, capabilities: [] },
          scopes: [`${AUDIENCE}/.default`],
        }),
      );
      const claims = claimsOf(result.accessToken);
      const lifetime = (claims.exp as number) - (claims.iat as number);
      expect(lifetime).toBeGreaterThanOrEqual(60 * 60);
      expect(lifetime).toBeLessThanOrEqual(90 * 60);
      expect(claims.xms_cc).toBeUndefined();
      expect(result.refreshOn).toBeNull();
    });

    it('answers a claims challenge: the capability is merged into the claims and the new token is issued after nbf', async () => {
      const nbf = Math.floor(Date.now() / 1000);
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({
          op: 'clientCredentials',
          app: daemon,
          scopes: [`${AUDIENCE}/.default`],
          claims: JSON.stringify(revocationClaims(nbf)),
        }),
      );
      expect(result.fromCache).toBe(false);
      const [sent] = tokenRequests(since);
      expect(accessTokenClaims(sent!)).toEqual({
        nbf: { essential: true, value: String(nbf) },
        xms_cc: { values: ['cp1'] },
      });
      const claims = claimsOf(result.accessToken);
      expect(claims.iat as number).toBeGreaterThanOrEqual(nbf + 1);
      expect(claims.xms_cc).toEqual(['cp1']);
    });

    it('after the service principal is disabled, the challenge is refused with invalid_client and the reason', async () => {
      await issuer.admin.disableServicePrincipal(daemon.clientId);
      const answer = await msal.run({
        op: 'clientCredentials',
        app: daemon,
        scopes: [`${AUDIENCE}/.default`],
        claims: JSON.stringify(revocationClaims(Math.floor(Date.now() / 1000))),
      });
      expect(answer.failure).toMatchObject({ name: 'ServerError', errorCode: 'invalid_client' });
      expect(answer.failure?.errorMessage).toMatch(/disabled/);
    });
  });

  describe('MSAL for Node as a daemon with a certificate (private_key_jwt)', () => {
    it('signs a PS256 client assertion with x5t#S256 that the issuer accepts, and the capability still rules', async () => {
      const certificate = await createClientCertificate();
      const created = await issuer.admin.call<CreatedApplication>('POST', '/applications', {
        name: 'msal-certificate-daemon',
        credential: 'private_key_jwt',
        jwks: {
          keys: [{ ...createPublicKey(certificate.certificate).export({ format: 'jwk' }), use: 'sig' }],
        },
        grants: [{ api: AUDIENCE, roles: ['Orders.Read.All'] }],
      });
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({
          op: 'clientCredentials',
          app: {
            clientId: created.application.client_id,
            certificate: {
              thumbprintSha256: certificate.thumbprintSha256,
              privateKey: certificate.privateKey,
            },
            capabilities: ['cp1'],
          },
          scopes: [`${AUDIENCE}/.default`],
        }),
      );
      const [sent] = tokenRequests(since);
      expect(sent?.form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const header = JSON.parse(
        Buffer.from(sent!.form.client_assertion!.split('.')[0]!, 'base64url').toString(),
      );
      expect(header).toMatchObject({ alg: 'PS256', 'x5t#S256': expect.any(String) });
      expect(claimsOf(result.accessToken)).toMatchObject({
        azp: created.application.client_id,
        roles: ['Orders.Read.All'],
        xms_cc: ['cp1'],
      });
    });
  });

  describe('MSAL for Node signing a user in (authorization code + PKCE, refresh tokens)', () => {
    let userId: string;
    const scopes = [`${AUDIENCE}/Orders.Read`];

    beforeAll(async () => {
      userId = (await issuer.admin.createUser('mallory-msal', 'correct horse battery staple')).id;
    });

    it('sends cp1 on the authorization request and gets a 20–28 h CAE token, an id token and refreshOn', async () => {
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({
          op: 'signIn',
          app: webApp,
          scopes,
          redirectUri: REDIRECT_URI,
          username: 'mallory-msal',
          password: 'correct horse battery staple',
        }),
      );
      const authorize = proxy.requests
        .slice(since)
        .find((r) => r.method === 'GET' && r.url.startsWith('/authorize?'));
      const query = new URL(authorize!.url, issuerUrl).searchParams;
      expect(query.get('code_challenge_method')).toBe('S256');
      expect(accessTokenClaims(query)).toEqual({ xms_cc: { values: ['cp1'] } });
      const [sent] = tokenRequests(since);
      expect(sent?.form.grant_type).toBe('authorization_code');
      expect(accessTokenClaims(sent!)).toEqual({ xms_cc: { values: ['cp1'] } });

      const claims = claimsOf(result.accessToken);
      expect(claims).toMatchObject({
        iss: issuerUrl,
        aud: AUDIENCE,
        idtyp: 'user',
        oid: userId,
        xms_cc: ['cp1'],
      });
      expect(claims.sid).toEqual(expect.any(String));
      const lifetime = (claims.exp as number) - (claims.iat as number);
      expect(lifetime).toBeGreaterThanOrEqual(20 * HOUR);
      expect(lifetime).toBeLessThanOrEqual(28 * HOUR);
      expect(result.refreshOn).not.toBeNull();
      expect(result.idTokenClaims).toMatchObject({ iss: issuerUrl, aud: webApp.clientId });
      expect(result.username).toBe('mallory-msal');
    });

    it('answers a claims challenge silently with the refresh token, the capability merged', async () => {
      const nbf = Math.floor(Date.now() / 1000);
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({ op: 'silent', app: webApp, scopes, claims: JSON.stringify(revocationClaims(nbf)) }),
      );
      expect(result.fromCache).toBe(false);
      const [sent] = tokenRequests(since);
      expect(sent?.form.grant_type).toBe('refresh_token');
      expect(accessTokenClaims(sent!)).toEqual({
        nbf: { essential: true, value: String(nbf) },
        xms_cc: { values: ['cp1'] },
      });
      expect(claimsOf(result.accessToken).iat as number).toBeGreaterThanOrEqual(nbf + 1);
    });

    it('one sign-in serves two APIs: extraScopesToConsent at sign-in, then a silent token for each', async () => {
      const second = 'api://msal-second';
      await issuer.admin.createApi(second, { scopes: ['Second.Read'] });
      const created = await issuer.admin.call<CreatedApplication>('POST', '/applications', {
        name: 'msal-two-apis',
        redirect_uris: [REDIRECT_URI],
        grants: [
          { api: AUDIENCE, scopes: ['Orders.Read'] },
          { api: second, scopes: ['Second.Read'] },
        ],
      });
      const app = {
        clientId: created.application.client_id,
        clientSecret: created.client_secret!.value,
        capabilities: ['cp1'],
      };
      const user = await issuer.admin.createUser('msal-two-apis', 'correct horse battery staple');
      const signedIn = tokens(
        await msal.run({
          op: 'signIn',
          app,
          scopes,
          extraScopesToConsent: [`${second}/Second.Read`],
          redirectUri: REDIRECT_URI,
          username: 'msal-two-apis',
          password: 'correct horse battery staple',
        }),
      );
      // The code names both APIs; the scope MSAL sends with it picks the one the token is for.
      expect(claimsOf(signedIn.accessToken)).toMatchObject({
        aud: AUDIENCE,
        scp: 'Orders.Read',
        oid: user.id,
      });
      const since = proxy.requests.length;
      const other = tokens(await msal.run({ op: 'silent', app, scopes: [`${second}/Second.Read`] }));
      expect(tokenRequests(since).map((r) => r.form.grant_type)).toEqual(['refresh_token']);
      expect(claimsOf(other.accessToken)).toMatchObject({ aud: second, scp: 'Second.Read', xms_cc: ['cp1'] });
    });

    it('a silent token for an API granted after the sign-in, like an Entra multi-resource refresh token', async () => {
      const third = 'api://msal-third';
      await issuer.admin.createApi(third, { scopes: ['Third.Read', 'Third.Write'] });
      const denied = await msal.run({ op: 'silent', app: webApp, scopes: [`${third}/Third.Read`] });
      // Not granted to the app: the refresh token is not extended, oidc-provider refuses the scope.
      expect(denied.failure).toMatchObject({ name: 'ServerError', errorCode: 'invalid_scope' });

      await issuer.admin.call('PUT', '/grants', {
        application: webApp.clientId,
        api: third,
        scopes: ['Third.Read'],
      });
      const granted = tokens(await msal.run({ op: 'silent', app: webApp, scopes: [`${third}/Third.Read`] }));
      expect(claimsOf(granted.accessToken)).toMatchObject({ aud: third, scp: 'Third.Read', xms_cc: ['cp1'] });
      // A scope of that API the app was not granted is still refused.
      const notGranted = await msal.run({ op: 'silent', app: webApp, scopes: [`${third}/Third.Write`] });
      expect(notGranted.failure).toMatchObject({ errorCode: 'invalid_scope' });
      // The first API still answers from the same (rotated) refresh token.
      const first = tokens(await msal.run({ op: 'silent', app: webApp, scopes, forceRefresh: true }));
      expect(claimsOf(first.accessToken)).toMatchObject({ aud: AUDIENCE, scp: 'Orders.Read' });
    });

    it("after the user's sessions are revoked, MSAL asks for interaction (invalid_grant with the reason)", async () => {
      await issuer.admin.revokeSessions(userId);
      const answer = await msal.run({ op: 'silent', app: webApp, scopes, forceRefresh: true });
      expect(answer.failure).toMatchObject({ interactionRequired: true, errorCode: 'invalid_grant' });
      expect(answer.failure?.errorMessage).toMatch(/revoked/);
    });
  });

  describe('MSAL for Node as a public client (desktop / CLI app, loopback redirect)', () => {
    it('signs in interactively without a client secret, with PKCE and cp1, and refreshes silently', async () => {
      const created = await issuer.admin.call<CreatedApplication>('POST', '/applications', {
        name: 'msal-desktop',
        credential: 'none',
        redirect_uris: ['http://localhost'],
        grants: [{ api: AUDIENCE, scopes: ['Orders.Read'] }],
      });
      const app = { clientId: created.application.client_id, capabilities: ['cp1'] };
      const user = await issuer.admin.createUser('msal-desktop-user', 'correct horse battery staple');
      const since = proxy.requests.length;
      const result = tokens(
        await msal.run({
          op: 'interactive',
          app,
          scopes: [`${AUDIENCE}/Orders.Read`],
          username: 'msal-desktop-user',
          password: 'correct horse battery staple',
        }),
      );
      const authorize = proxy.requests.slice(since).find((r) => r.url.startsWith('/authorize?'));
      // MSAL's loopback server picks its port; the issuer accepts any port for a loopback redirect (RFC 8252 §7.3).
      expect(new URL(authorize!.url, issuerUrl).searchParams.get('redirect_uri')).toMatch(
        /^http:\/\/localhost:\d+$/,
      );
      const [sent] = tokenRequests(since);
      expect(sent?.form).toMatchObject({ grant_type: 'authorization_code', client_id: app.clientId });
      expect(sent?.form.client_secret).toBeUndefined();
      expect(sent?.form.code_verifier).toEqual(expect.any(String));
      expect(claimsOf(result.accessToken)).toMatchObject({ aud: AUDIENCE, oid: user.id, xms_cc: ['cp1'] });

      const refreshed = tokens(
        await msal.run({
          op: 'silent',
          publicClient: true,
          app,
          scopes: [`${AUDIENCE}/Orders.Read`],
          forceRefresh: true,
        }),
      );
      expect(refreshed.fromCache).toBe(false);
      expect(claimsOf(refreshed.accessToken)).toMatchObject({ aud: AUDIENCE, oid: user.id, xms_cc: ['cp1'] });
    });
  });
});
