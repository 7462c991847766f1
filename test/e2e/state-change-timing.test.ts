/**
 * Sign-ins and tokens around a state change, end to end: sign-in times (`auth_time`) and token times
 * (`iat`) are whole seconds while changes are recorded in milliseconds. A session from before a password
 * reset must sign in again; a sign-in completing later in the reset's own second must work; a token
 * issued earlier in a secret reset's own second must be refused by the resource.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedSignIn } from '../../packages/cli/src/demo/sign-in-page.js';
import { type RunningExampleApi, startExampleApi } from './support/example-apis.js';
import { type RunningIssuer, startIssuer, storageEngines } from './support/issuer.js';
import { DeliveredEvents, nextSecond } from './support/observers.js';
import { daemonClient, REDIRECT_URI, signInUser } from './support/scenario.js';

const PASSWORD = 'correct horse battery 1';
const NEW_PASSWORD = 'correct horse battery 2';
const audience = 'api://orders-state-change-timing';

describe('sign-ins and tokens around a state change', () => {
  let stack: RunningIssuer;
  let api: RunningExampleApi;
  let events: DeliveredEvents;
  let webApp: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    stack = await startIssuer(storageEngines[0]!);
    await stack.admin.createApi(audience);
    const receiver = await stack.admin.createReceiver('state-change-timing receiver');
    api = await startExampleApi({
      framework: 'express',
      issuerUrl: stack.url,
      audience,
      delivery: 'push',
      receiver: { clientId: receiver.application.client_id, clientSecret: receiver.client_secret!.value },
    });
    events = new DeliveredEvents(api.receiver);
    const web = await stack.admin.createWebApp('state-change-timing web app', audience, REDIRECT_URI);
    webApp = { clientId: web.application.client_id, clientSecret: web.client_secret!.value };
  });
  afterAll(async () => {
    events?.unsubscribe();
    await api?.close();
    await stack?.close();
  });

  const signIn = (username: string, password: string, browser?: ScriptedSignIn) =>
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
   * A password reset keeps the browser's issuer session (revoke-sessions deletes it): the issuer must
   * see that the session predates the reset and show the sign-in form, not hand out a code the token
   * endpoint would refuse. The new sign-in may fall in the reset's own second.
   */
  it('a browser whose issuer session predates a password reset is asked to sign in again', async () => {
    const user = await stack.admin.createUser(`user-${randomUUID().slice(0, 8)}`, PASSWORD);
    const browser = new ScriptedSignIn(stack.url);
    await signIn(user.username, PASSWORD, browser);
    await stack.admin.resetPassword(user.id, NEW_PASSWORD);
    const authorizeAgain = await signIn(user.username, NEW_PASSWORD, browser).then(
      (again) => ({ prompted: again.prompted, error: undefined }),
      (error: Error) => ({ prompted: undefined, error: error.message }),
    );
    expect(authorizeAgain).toEqual({ prompted: true, error: undefined });
  });

  /**
   * The grant's sign-in time is in whole seconds, the reset in milliseconds: a sign-in completing after
   * the reset within its second is stamped with the next second, so its code is honoured.
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
   * `event_timestamp` is the revocation's second: a token issued earlier in that second has
   * iat == event_timestamp, and resources refuse iat <= the revocation time.
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
