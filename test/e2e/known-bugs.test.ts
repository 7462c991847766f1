/**
 * Bugs found by the end-to-end suites in folders this suite does not own. Each test asserts the right
 * behaviour and FAILS today. They run with OPENCAE_KNOWN_BUGS=1 (skipped otherwise, so the shared
 * suite stays green); when a fix lands, its test passes and moves into cae-enforcement.test.ts.
 *
 *   OPENCAE_KNOWN_BUGS=1 npx vitest run test/e2e/known-bugs.test.ts
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExampleApi, startExampleApi } from './support/example-apis.js';
import { type RunningIssuer, startIssuer, storageEngines } from './support/issuer.js';
import { DeliveredEvents, nextSecond } from './support/observers.js';
import { daemonClient, REDIRECT_URI, signInUser } from './support/scenario.js';
import { SignInBrowser } from './support/sign-in-browser.js';

const enabled = process.env.OPENCAE_KNOWN_BUGS === '1';
if (!enabled)
  console.warn('\n  SKIPPED: known-bug tests (they fail today) — set OPENCAE_KNOWN_BUGS=1 to run them.\n');

const PASSWORD = 'correct horse battery 1';
const NEW_PASSWORD = 'correct horse battery 2';
const audience = 'api://orders-known-bugs';

describe.runIf(enabled)('known bugs', () => {
  let stack: RunningIssuer;
  let api: RunningExampleApi;
  let events: DeliveredEvents;
  let webApp: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    stack = await startIssuer(storageEngines[0]!);
    await stack.admin.createApi(audience);
    const receiver = await stack.admin.createReceiver('known-bugs receiver');
    api = await startExampleApi({
      framework: 'express',
      issuerUrl: stack.url,
      audience,
      delivery: 'push',
      receiver: { clientId: receiver.application.client_id, clientSecret: receiver.client_secret!.value },
    });
    events = new DeliveredEvents(api.receiver);
    const web = await stack.admin.createWebApp('known-bugs web app', audience, REDIRECT_URI);
    webApp = { clientId: web.application.client_id, clientSecret: web.client_secret!.value };
  });
  afterAll(async () => {
    events?.unsubscribe();
    await api?.close();
    await stack?.close();
  });

  const signIn = (username: string, password: string, browser?: SignInBrowser) =>
    signInUser({
      issuerUrl: stack.url,
      apiUrl: api.url,
      audience,
      webApp,
      username,
      password,
      ...(browser ? { browser } : {}),
    });

  /**
   * Token service, provider-configuration.ts `accountState` check: it reads
   * `ctx.oidc.session?.authTime`, which is a method of oidc-provider's Session (`authTime()`), so
   * `fromEpoch` gets a function, returns undefined, and sessions_revoked_at / credentials_changed_at
   * never make the issuer ask for a new sign-in. A password reset keeps the browser's issuer session
   * (revoke-sessions deletes it), so that browser is handed a code at once, and the token endpoint
   * refuses the code (invalid_grant): the user cannot sign in from that browser until the session
   * expires (14 days).
   */
  it('a browser whose issuer session predates a password reset is asked to sign in again', async () => {
    const user = await stack.admin.createUser(`user-${randomUUID().slice(0, 8)}`, PASSWORD);
    const browser = new SignInBrowser(stack.url);
    await signIn(user.username, PASSWORD, browser);
    await stack.admin.resetPassword(user.id, NEW_PASSWORD);
    await nextSecond(); // keep the next bug out of this one
    const authorizeAgain = await signIn(user.username, NEW_PASSWORD, browser).then(
      (again) => ({ prompted: again.prompted, error: undefined }),
      (error: Error) => ({ prompted: undefined, error: error.message }),
    );
    expect(authorizeAgain).toEqual({ prompted: true, error: undefined });
  });

  /**
   * Token service, current-state.ts `userRefusal` via provider-configuration.ts `establishedAt`: the
   * grant's sign-in time is oidc-provider's `authTime` in whole seconds, compared with
   * credentials_changed_at in milliseconds. A sign-in later in the same second as the reset has
   * authTime * 1000 < credentials_changed_at, and its code is refused: "the user's credentials changed
   * after this grant was issued".
   */
  it('a sign-in in the same second as the password reset is accepted', async (context) => {
    const user = await stack.admin.createUser(`user-${randomUUID().slice(0, 8)}`, PASSWORD);
    await nextSecond();
    const reset = await stack.admin.resetPassword(user.id, NEW_PASSWORD);
    const resetSecond = Math.floor(
      Date.parse(
        (reset as unknown as { user: { credentials_changed_at: string } }).user.credentials_changed_at,
      ) / 1000,
    );
    const outcome = await signIn(user.username, NEW_PASSWORD).then(
      () => 'signed in',
      (error: Error) => error.message,
    );
    // Conclusive only when the sign-in finished within the reset's second (a loaded machine may not).
    if (Math.floor(Date.now() / 1000) !== resetSecond && outcome === 'signed in') context.skip();
    expect(outcome).toBe('signed in');
  });

  /**
   * Issuer (directory/security-events.ts `event_timestamp: Math.floor(at / 1000)`) with the resource
   * rule `iat < revokedBefore`: a token issued earlier in the same second as the revocation has
   * iat == event_timestamp and stays valid for its whole 20–28 h lifetime. Suggested fix: the issuer
   * rounds the revocation time up (Math.ceil), so every token issued before it has a smaller iat; the
   * client's re-request then carries nbf = that second, and the token service already issues
   * iat = max(iat, nbf), which the strict rule accepts.
   */
  it('a token issued in the same second as a secret reset, before it, is rejected', async (context) => {
    const created = await stack.admin.createDaemon(`daemon ${randomUUID()}`, audience);
    const daemon = daemonClient({
      issuerUrl: stack.url,
      apiUrl: api.url,
      audience,
      clientId: created.application.client_id,
      clientSecret: created.client_secret!.value,
    });
    await nextSecond();
    const token = (await daemon.client.getAccessToken()).token;
    const action = await stack.admin.resetSecret(created.application.client_id);
    const delivered = await events.waitFor(action.txn);
    const iat = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number })
      .iat;
    if (iat !== delivered.set.event.event_timestamp) context.skip(); // not the same second: inconclusive
    const response = await fetch(`${api.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  });
});
