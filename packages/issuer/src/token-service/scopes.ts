/**
 * Entra-style scopes: `<audience>/.default` (everything granted on that API) and
 * `<audience>/<scope>`; RFC 8707 `resource=<audience>` names the API directly. Generic SSF receivers
 * ask for bare `ssf.manage` / `ssf.read`, which belong to the built-in `urn:opencae:ssf` API.
 */

import { ADMIN_AUDIENCE, ADMIN_ROLE, SSF_AUDIENCE, SSF_PERMISSIONS } from '../built-in-apis.js';
import type { ApiGrant, ApiState } from './directory-reader.js';

const BARE_SSF_SCOPES = new Set(SSF_PERMISSIONS);
export const DEFAULT_SCOPE = '.default';

export interface ApiScope {
  audience: string;
  /** The scope or role name on that API (`.default` for all). */
  name: string;
}

/** Splits `api://orders/read` into audience and name; undefined for OIDC scopes such as `openid`. */
export function parseApiScope(scope: string): ApiScope | undefined {
  if (BARE_SSF_SCOPES.has(scope)) return { audience: SSF_AUDIENCE, name: scope };
  const slash = scope.lastIndexOf('/');
  if (slash <= 0 || slash === scope.length - 1) return undefined;
  const audience = scope.slice(0, slash);
  // Only absolute URIs (scheme:...) are audiences; `a/b` is not.
  if (!/^[a-z][a-z0-9+.-]*:/i.test(audience)) return undefined;
  return { audience, name: scope.slice(slash + 1) };
}

/** The distinct APIs named by a space-separated scope string, in order of appearance. */
export function audiencesOf(scope: string | undefined): string[] {
  const audiences: string[] = [];
  for (const token of (scope ?? '').split(' ')) {
    const parsed = token ? parseApiScope(token) : undefined;
    if (parsed && !audiences.includes(parsed.audience)) audiences.push(parsed.audience);
  }
  return audiences;
}

/**
 * The scope values oidc-provider may grant for an API: full `<audience>/<name>` forms of what the
 * application was granted (delegated scopes and app roles) and `<audience>/.default`; the built-in
 * SSF API also accepts the bare names.
 */
export function grantableScopes(api: ApiState, grant: ApiGrant | undefined): string[] {
  const names = new Set<string>([DEFAULT_SCOPE]);
  for (const scope of grant?.scopes ?? []) if (api.scopes.includes(scope)) names.add(scope);
  for (const role of grant?.roles ?? []) if (api.appRoles.includes(role)) names.add(role);
  const values = [...names].map((name) => `${api.audience}/${name}`);
  if (api.audience === SSF_AUDIENCE)
    for (const name of names) if (BARE_SSF_SCOPES.has(name)) values.push(name);
  return values;
}

/** Whether a user's delegated access to `api` depends on administrators group membership. */
export function needsAdministrator(api: ApiState): boolean {
  return api.audience === ADMIN_AUDIENCE;
}

/**
 * What a user's token for `api` may carry of the application's grant: everything, except the delegated
 * `admin` scope of the admin API, which only administrators get (whatever the app was granted).
 */
export function grantForUser(
  api: ApiState,
  grant: ApiGrant | undefined,
  isAdministrator: boolean,
): ApiGrant | undefined {
  if (!grant || !needsAdministrator(api) || isAdministrator) return grant;
  return { ...grant, scopes: grant.scopes.filter((scope) => scope !== ADMIN_ROLE) };
}

/** Names on `audience` among the token's scope values (full or bare-SSF forms). */
function namesFor(audience: string, scope: string | undefined): string[] {
  const names: string[] = [];
  for (const token of (scope ?? '').split(' ')) {
    const parsed = token ? parseApiScope(token) : undefined;
    if (parsed?.audience === audience) names.push(parsed.name);
  }
  return names;
}

/** `scp` of a delegated (user) token: the granted delegated scopes the request asked for. */
export function delegatedScopes(
  api: ApiState,
  grant: ApiGrant | undefined,
  scope: string | undefined,
): string[] {
  const granted = (grant?.scopes ?? []).filter((name) => api.scopes.includes(name));
  const requested = namesFor(api.audience, scope);
  if (requested.includes(DEFAULT_SCOPE) || (requested.length === 0 && scope === undefined)) return granted;
  return granted.filter((name) => requested.includes(name));
}

/** `roles` of an app-only token: every granted app role for `.default` (or no scope), else those asked for. */
export function applicationRoles(
  api: ApiState,
  grant: ApiGrant | undefined,
  scope: string | undefined,
): string[] {
  const granted = (grant?.roles ?? []).filter((role) => api.appRoles.includes(role));
  const requested = namesFor(api.audience, scope);
  if (requested.length === 0 || requested.includes(DEFAULT_SCOPE)) return granted;
  return granted.filter((role) => requested.includes(role));
}

/**
 * MSAL, like most Entra ID clients, asks for `offline_access` on every refresh. The refresh token being
 * redeemed is that offline access already, and oidc-provider refuses a scope the token does not list
 * (it keeps offline_access out of grants made without prompt=consent). Returns the token request
 * without it, or undefined when there is nothing to change.
 */
export function withoutOfflineAccessOnRefresh(form: URLSearchParams): URLSearchParams | undefined {
  if (form.get('grant_type') !== 'refresh_token' || form.getAll('scope').length !== 1) return undefined;
  const scopes = (form.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access')) return undefined;
  const rewritten = new URLSearchParams(form);
  const kept = scopes.filter((scope) => scope !== 'offline_access' && scope !== '');
  if (kept.length > 0) rewritten.set('scope', kept.join(' '));
  else rewritten.delete('scope');
  return rewritten;
}
