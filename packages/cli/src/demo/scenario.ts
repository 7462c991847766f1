/**
 * The demo's scenario, against real processes over HTTP: an administrator (the admin API), clients
 * (the client SDK, users signing in through the issuer's page), an attacker on another address, and
 * the sample API enforcing. Each step times the admin call returning → the API refusing the token.
 */
import { ClaimsChallengeRefusedError, OpenCaeClient } from '@opencae/client';
import { parseClaimsChallenge } from '@opencae/protocol';
import type { AdminClient } from '../admin-client.js';
import type { DemoTenant } from '../demo-tenant/demo-file.js';
import {
  callApi,
  canBind,
  type Enforcement,
  nextSecond,
  pollUntilRefused,
  tokenClaims,
} from './api-probe.js';
import { ScriptedSignIn } from './sign-in-page.js';
import { type Outcome, type StepResult, stepResult } from './steps.js';

/** The second loopback address: the stolen token's new home. */
export const ATTACKER_ADDRESS = '127.0.0.2';

export interface Narrator {
  /** A step begins. */
  begin(title: string): void;
  /** Something the step did or saw. */
  note(text: string): void;
  /** The step's result. */
  end(result: StepResult): void;
}

export interface ScenarioContext {
  issuer: string;
  /** The sample API's base URL. */
  api: string;
  admin: AdminClient;
  tenant: DemoTenant;
  narrator: Narrator;
  /** How long to wait for the API to refuse a token (default 10 s). */
  enforcementTimeoutMs?: number;
}

interface Step {
  name: string;
  title: string;
  expected: Outcome;
  run(
    context: ScenarioContext,
  ): Promise<{ outcome: Outcome; ms: number | null; details: Record<string, unknown> }>;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

function hours(claims: Record<string, unknown>): number {
  return Math.round(((Number(claims.exp) - Number(claims.iat)) / 3600) * 10) / 10;
}

async function signedIn(
  context: ScenarioContext,
  username: string,
  password: string,
): Promise<OpenCaeClient> {
  const { tenant } = context;
  const client = new OpenCaeClient({
    issuer: context.issuer,
    clientId: tenant.web_app.client_id,
    clientSecret: tenant.web_app.client_secret,
    flow: 'user',
    scopes: `${tenant.api.audience}/${tenant.api.scope}`,
  });
  const request = await client.authorizationUrl({ redirectUri: tenant.web_app.redirect_uri });
  const { redirect } = await new ScriptedSignIn(context.issuer).signIn(request.url, username, password);
  await client.signInWithAuthorizationCode({
    callback: redirect,
    redirectUri: tenant.web_app.redirect_uri,
    codeVerifier: request.codeVerifier,
    state: request.state,
    nonce: request.nonce,
  });
  return client;
}

/** The token works now; after `action` the API refuses it and the issuer refuses the client's re-request. */
async function cutOff(
  context: ScenarioContext,
  client: OpenCaeClient,
  who: string,
  action: { say: string; run: () => Promise<unknown> },
): Promise<{ outcome: Outcome; ms: number | null; details: Record<string, unknown> }> {
  const me = `${context.api}/me`;
  const { token } = await client.getAccessToken();
  const claims = tokenClaims(token);
  const first = await client.fetch(me);
  await first.body?.cancel();
  if (first.status !== 200)
    return {
      outcome: 'error',
      ms: null,
      details: { error: `${who}'s first call answered HTTP ${first.status}` },
    };
  context.narrator.note(
    `${who} calls ${me}: 200 with a ${claims.xms_cc ? 'CAE' : 'non-CAE'} token valid ${hours(claims)} h`,
  );
  // Revocation compares whole seconds ("issued before T"): act in a later second than the token's.
  await nextSecond();
  context.narrator.note(action.say);
  await action.run();
  const returnedAt = performance.now();
  const enforcement: Enforcement = await pollUntilRefused(
    me,
    token,
    returnedAt,
    context.enforcementTimeoutMs ?? 10_000,
  );
  const details: Record<string, unknown> = {
    tokenLifetimeHours: hours(claims),
    caeCapable: Array.isArray(claims.xms_cc) && claims.xms_cc.includes('cp1'),
    pollRequests: enforcement.requests,
  };
  if (!enforcement.refusal) {
    context.narrator.note(
      `the API still accepted the token ${(context.enforcementTimeoutMs ?? 10_000) / 1000} s later`,
    );
    return { outcome: 'not_enforced', ms: null, details };
  }
  const challenge = parseClaimsChallenge(enforcement.refusal.wwwAuthenticate);
  Object.assign(details, {
    apiStatus: enforcement.refusal.status,
    apiReason: enforcement.refusal.body.reason,
    challenge: challenge ? { error: challenge.error, claims: challenge.claims } : null,
  });
  context.narrator.note(
    `the API refused the token ${enforcement.ms!.toFixed(1)} ms after the admin call returned (HTTP ${enforcement.refusal.status} ${challenge?.error ?? ''}, reason ${enforcement.refusal.body.reason})`,
  );
  // The client SDK answers the challenge once; the issuer evaluates current state and refuses.
  const again = await client.fetch(me).then(
    (response) => ({ status: response.status }),
    (error: unknown) => ({ error }),
  );
  if ('error' in again && again.error instanceof ClaimsChallengeRefusedError) {
    details.reRequest = `refused by the issuer: ${again.error.error}`;
    context.narrator.note(`${who} answers the claims challenge; the issuer refuses: ${again.error.error}`);
    const enforced = enforcement.refusal.status === 401 && challenge?.error === 'insufficient_claims';
    return { outcome: enforced ? 'enforced' : 'not_enforced', ms: enforcement.ms!, details };
  }
  details.reRequest =
    'status' in again
      ? `the call succeeded again (HTTP ${again.status})`
      : String((again.error as Error).message);
  return { outcome: 'not_enforced', ms: enforcement.ms!, details };
}

export const STEPS: Step[] = [
  {
    name: 'workload-secret-reset',
    title: 'Workload identity: client secret reset (password compromise response)',
    expected: 'enforced',
    async run(context) {
      const { tenant, admin } = context;
      const client = new OpenCaeClient({
        issuer: context.issuer,
        clientId: tenant.daemon.client_id,
        clientSecret: tenant.daemon.client_secret,
        scopes: `${tenant.api.audience}/.default`,
      });
      return cutOff(context, client, 'the daemon', {
        say: `admin: reset the client secret of the daemon ${tenant.daemon.client_id}`,
        run: () =>
          admin.request('POST', `/applications/${path(tenant.daemon.client_id)}/reset-secret`, {
            reason: 'opencae demo: the secret leaked',
          }),
      });
    },
  },
  {
    name: 'user-disabled',
    title: 'User disabled: cut off at the next request',
    expected: 'enforced',
    async run(context) {
      const { member } = context.tenant;
      const client = await signedIn(context, member.username, member.password);
      context.narrator.note(
        `${member.username} signed in through the issuer's page (authorization code + PKCE)`,
      );
      return cutOff(context, client, member.username, {
        say: `admin: disable ${member.username}`,
        run: () =>
          context.admin.request('POST', `/users/${path(member.username)}/disable`, {
            reason: 'opencae demo: left the company',
          }),
      });
    },
  },
  {
    name: 'stolen-token-replay',
    title: `Stolen token replayed from another address (${ATTACKER_ADDRESS})`,
    expected: 'refused',
    async run(context) {
      if (!(await canBind(ATTACKER_ADDRESS)))
        return {
          outcome: 'not_available',
          ms: null,
          details: {
            reason: `this machine cannot send from ${ATTACKER_ADDRESS} (on macOS: sudo ifconfig lo0 alias ${ATTACKER_ADDRESS})`,
          },
        };
      const { victim } = await demoUsers(context);
      const client = await signedIn(context, victim.username, victim.password);
      const { token } = await client.getAccessToken();
      const claims = tokenClaims(token);
      const me = `${context.api}/me`;
      const owner = await callApi(me, token, '127.0.0.1');
      if (owner.status !== 200)
        return {
          outcome: 'error',
          ms: null,
          details: { error: `the owner's call answered HTTP ${owner.status}` },
        };
      context.narrator.note(`${victim.username} calls from 127.0.0.1 (a trusted location): 200`);
      const issuerEvaluated = Array.isArray(claims.xms_lp);
      const started = performance.now();
      const replay = await callApi(me, token, ATTACKER_ADDRESS);
      const challenge = parseClaimsChallenge(replay.wwwAuthenticate);
      const seenIp = (challenge?.claims.access_token?.['xms_rp_ipaddr'] as { value?: string } | undefined)
        ?.value;
      const details: Record<string, unknown> = {
        apiStatus: replay.status,
        apiReason: replay.body.reason,
        challenge: challenge ? { error: challenge.error, claims: challenge.claims } : null,
        requestMs: Math.round((replay.at - started) * 10) / 10,
        policy: context.tenant.policy.name,
        // Whether the token service evaluated Conditional Access at issuance (xms_lp, xms_pv in the token).
        issuerEvaluatedPolicy: issuerEvaluated,
        ...(issuerEvaluated
          ? { xms_lp: claims.xms_lp }
          : {
              note: 'the token carries no xms_lp: Conditional Access is not evaluated at token issuance yet; the API applied the synced policy from the token itself (assignment All users)',
            }),
      };
      context.narrator.note(
        `the attacker replays the token from ${ATTACKER_ADDRESS}: HTTP ${replay.status} ${challenge?.error ?? ''}, reason ${replay.body.reason}${seenIp ? `, xms_rp_ipaddr ${seenIp}` : ''}`,
      );
      if (!issuerEvaluated) context.narrator.note(`note: ${details.note}`);
      const refused = replay.status === 401 && replay.body.reason === 'location_blocked';
      return { outcome: refused ? 'refused' : 'not_enforced', ms: null, details };
    },
  },
  {
    name: 'risk-high',
    title: 'User risk raised to high',
    expected: 'enforced',
    async run(context) {
      const { victim } = await demoUsers(context);
      const client = await signedIn(context, victim.username, victim.password);
      return cutOff(context, client, victim.username, {
        say: `admin: set ${victim.username}'s risk to high`,
        run: () =>
          context.admin.request('PUT', `/users/${path(victim.username)}/risk`, {
            level: 'high',
            reason: 'opencae demo: sign-ins from an anonymizing proxy',
          }),
      });
    },
  },
  {
    name: 'guest-revoked',
    title: 'Guest: sessions revoked',
    expected: 'enforced',
    async run(context) {
      const { guest } = context.tenant;
      const client = await signedIn(context, guest.username, guest.password);
      context.narrator.note(`guest ${guest.username} signed in`);
      return cutOff(context, client, `guest ${guest.username}`, {
        say: `admin: revoke every session of ${guest.username}`,
        run: () =>
          context.admin.request('POST', `/users/${path(guest.username)}/revoke-sessions`, {
            reason: 'opencae demo: the partnership ended',
          }),
      });
    },
  },
];

const created = new WeakMap<ScenarioContext, Promise<{ victim: { username: string; password: string } }>>();

/** bob, a second member the demo creates (alice is disabled by then). */
function demoUsers(context: ScenarioContext) {
  let users = created.get(context);
  if (!users) {
    const password = `demo-${crypto.randomUUID()}`;
    users = context.admin
      .request('POST', '/users', {
        username: 'bob',
        password,
        email: 'bob@example.test',
        display_name: 'Bob (member)',
      })
      .then(() => ({ victim: { username: 'bob', password } }));
    created.set(context, users);
  }
  return users;
}

export async function runScenario(context: ScenarioContext): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of STEPS) {
    context.narrator.begin(step.title);
    let result: StepResult;
    try {
      const { outcome, ms, details } = await step.run(context);
      result = stepResult(step, outcome, ms, details);
    } catch (error) {
      result = stepResult(step, 'error', null, { error: (error as Error).message ?? String(error) });
    }
    context.narrator.end(result);
    results.push(result);
  }
  return results;
}
