/**
 * The pieces every CAE scenario shares: clients that sign a user in (authorization code + PKCE through
 * the sign-in page) or run as a daemon (client credentials), the claims challenge checked against
 * DESIGN.md, and the enforcement times printed at the end of a run.
 */
import { ClaimsChallengeRefusedError, OpenCaeClient } from '@opencae/client';
import type { RejectionReason } from '@opencae/resource';
import { expect } from 'vitest';
import { ScriptedSignIn } from '../../../packages/cli/src/demo/sign-in-page.js';
import { RequestLog } from './observers.js';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface SignedInUser {
  client: OpenCaeClient;
  log: RequestLog;
  browser: ScriptedSignIn;
  /** Whether the issuer showed its sign-in form (false: an existing session answered). */
  prompted: boolean;
}

/** An app signs the user in through the issuer's pages and keeps the session (refresh token). */
export async function signInUser(o: {
  issuerUrl: string;
  apiUrl: string;
  audience: string;
  webApp: { clientId: string; clientSecret: string };
  username: string;
  password: string;
  browser?: ScriptedSignIn;
  client?: { client: OpenCaeClient; log: RequestLog };
}): Promise<SignedInUser> {
  const log = o.client?.log ?? new RequestLog(o.issuerUrl, o.apiUrl);
  const client =
    o.client?.client ??
    new OpenCaeClient({
      issuer: o.issuerUrl,
      clientId: o.webApp.clientId,
      clientSecret: o.webApp.clientSecret,
      flow: 'user',
      scopes: `${o.audience}/Orders.Read`,
      fetch: log.fetch,
    });
  const browser = o.browser ?? new ScriptedSignIn(o.issuerUrl);
  const request = await client.authorizationUrl({ redirectUri: REDIRECT_URI });
  const { redirect, prompted } = await browser.signIn(request.url, o.username, o.password);
  await client.signInWithAuthorizationCode({
    callback: redirect,
    redirectUri: REDIRECT_URI,
    codeVerifier: request.codeVerifier,
    state: request.state,
    nonce: request.nonce,
  });
  return { client, log, browser, prompted };
}

/** A daemon acting as itself with its client secret. */
export function daemonClient(o: {
  issuerUrl: string;
  apiUrl: string;
  audience: string;
  clientId: string;
  clientSecret: string;
}): { client: OpenCaeClient; log: RequestLog } {
  const log = new RequestLog(o.issuerUrl, o.apiUrl);
  const client = new OpenCaeClient({
    issuer: o.issuerUrl,
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    scopes: `${o.audience}/.default`,
    fetch: log.fetch,
  });
  return { client, log };
}

/** The call fails with ClaimsChallengeRefusedError; returns it. */
export async function refusedChallenge(call: Promise<Response>): Promise<ClaimsChallengeRefusedError> {
  const outcome = await call.then(
    (response) => new Error(`expected a refused challenge, the call answered HTTP ${response.status}`),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ClaimsChallengeRefusedError);
  return outcome as ClaimsChallengeRefusedError;
}

const CHALLENGE =
  /^Bearer realm="", authorization_uri="([^"]+)", error="insufficient_claims", error_description="([^"]+)", claims="([A-Za-z0-9+/]+={0,2})"$/;

/**
 * The API's 401 is exactly DESIGN.md's claims challenge: realm, the issuer's authorize URL,
 * insufficient_claims, a description, and standard padded base64 of the minified claims with the
 * essential `nbf` (the revocation time); the JSON body names the reason.
 */
export async function expectClaimsChallenge(
  response: Response,
  o: { issuerUrl: string; nbf: number; reason: RejectionReason },
): Promise<void> {
  expect(response.status).toBe(401);
  const header = response.headers.get('www-authenticate') ?? '';
  const match = CHALLENGE.exec(header);
  expect(match, header).not.toBeNull();
  const [, authorizationUri, , claims] = match as RegExpExecArray;
  expect(authorizationUri).toBe(`${o.issuerUrl}/authorize`);
  expect((claims as string).length % 4).toBe(0);
  expect(Buffer.from(claims as string, 'base64').toString('utf8')).toBe(
    JSON.stringify({ access_token: { nbf: { essential: true, value: String(o.nbf) } } }),
  );
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ error: 'insufficient_claims', reason: o.reason });
  expect(typeof body.error_description).toBe('string');
}

export interface Measurement {
  run: string;
  scenario: string;
  /** From the admin call returning to the API enforcing; negative: enforced before the call returned. */
  milliseconds: number;
}

export const measurements: Measurement[] = [];

export function printMeasurements(title: string): void {
  if (measurements.length === 0) return;
  const width = Math.max(...measurements.map((m) => `${m.run}  ${m.scenario}`.length));
  const lines = measurements.map(
    (m) => `  ${`${m.run}  ${m.scenario}`.padEnd(width)}  ${m.milliseconds.toFixed(1).padStart(8)} ms`,
  );
  console.log(`\n${title}\n${lines.join('\n')}\n`);
}
