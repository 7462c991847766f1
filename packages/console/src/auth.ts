/**
 * Administrator sign-in: OpenID Connect authorization code flow with PKCE against this issuer, the
 * console being a public client (oauth4webapi does the protocol). The access token (aud
 * urn:opencae:admin, scope admin) lives in sessionStorage for this tab only, until it expires.
 */
import * as oauth from 'oauth4webapi';
import type { ConsoleConfig } from './config.ts';

export interface Session {
  accessToken: string;
  expiresAt: number;
  name: string;
}

const SESSION_KEY = 'opencae.console.session';
const PENDING_KEY = 'opencae.console.pending';
const SIGNED_OUT_KEY = 'opencae.console.signed-out';

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  /** The page to return to after sign-in. */
  hash: string;
}

/** http:// is accepted only for a loopback issuer (development). */
function requestOptions(config: ConsoleConfig) {
  const url = new URL(config.issuer);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return url.protocol === 'http:' && loopback ? { [oauth.allowInsecureRequests]: true } : {};
}

async function discover(config: ConsoleConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(config) });
  return oauth.processDiscoveryResponse(issuer, response);
}

export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return undefined;
  try {
    const session = JSON.parse(raw) as Session;
    if (typeof session.accessToken === 'string' && session.expiresAt > Date.now() + 30_000) return session;
  } catch {
    // a corrupt entry is dropped below
  }
  sessionStorage.removeItem(SESSION_KEY);
  return undefined;
}

export async function startSignIn(config: ConsoleConfig): Promise<void> {
  const as = await discover(config);
  if (!as.authorization_endpoint) throw new Error('the issuer has no authorization endpoint');
  const pending: Pending = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    hash: location.hash,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('redirect_uri', config.redirect_uri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  // After an explicit sign-out, ask for the password again instead of reusing the issuer session.
  if (localStorage.getItem(SIGNED_OUT_KEY)) url.searchParams.set('prompt', 'login');
  location.assign(url);
}

/** True when the page was opened by the issuer's redirect (code or error in the query). */
export function isSignInCallback(): boolean {
  const query = new URLSearchParams(location.search);
  return query.has('state') && (query.has('code') || query.has('error'));
}

export async function completeSignIn(config: ConsoleConfig): Promise<Session> {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const callback = new URL(location.href);
  // The code must not stay in the address bar or the history.
  history.replaceState(null, '', new URL(config.redirect_uri).pathname);
  if (!raw) throw new Error('this sign-in was not started here; sign in again');
  const pending = JSON.parse(raw) as Pending;
  const as = await discover(config);
  const client: oauth.Client = { client_id: config.client_id };
  const params = oauth.validateAuthResponse(as, client, callback, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    config.redirect_uri,
    pending.verifier,
    requestOptions(config),
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(result);
  const name = String(claims?.preferred_username ?? claims?.name ?? claims?.sub ?? 'administrator');
  const session: Session = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000,
    name,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  localStorage.removeItem(SIGNED_OUT_KEY);
  if (pending.hash) location.hash = pending.hash;
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION_KEY);
  localStorage.setItem(SIGNED_OUT_KEY, '1');
}

/** Explains an OAuth failure in words an administrator can act on. */
export function describeSignInError(error: unknown): string {
  if (error instanceof oauth.AuthorizationResponseError || error instanceof oauth.ResponseBodyError)
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
