/**
 * Entra ID refresh tokens are multi-resource: one sign-in gets tokens for every API the application
 * may call, and MSAL relies on it (`acquireTokenSilent` for a second API redeems the same refresh
 * token with that API's scopes). oidc-provider's refresh tokens cover the APIs named at sign-in and
 * refuse any other scope. So before a refresh_token request reaches the provider, the refresh token
 * and its grant are extended to the APIs the request names — only to delegated scopes an
 * administrator granted the application, which a new sign-in would get anyway. Issuance then
 * evaluates the user, Conditional Access and the administrators-only scope as for any token.
 *
 * This runs before oidc-provider authenticates the client. Extending a stolen refresh token gives
 * nothing without the client's credentials, and a public client's refresh token already is the
 * client's whole power; the extension never goes beyond the application's own grants.
 */
import type { Provider } from 'oidc-provider';
import type { DirectoryReader } from './directory-reader.js';
import { DEFAULT_SCOPE, parseApiScope } from './scopes.js';

/** Longer than any refresh token oidc-provider issues: not worth a lookup. */
const MAX_TOKEN_LENGTH = 512;

type Reader = Pick<DirectoryReader, 'applicationByClientId' | 'apiWithGrant'>;

/**
 * The delegated scopes the request names, by API audience, for APIs the refresh token does not cover;
 * undefined when the request names only covered APIs (or none).
 */
function uncoveredApis(scope: string, covered: ReadonlySet<string>): Map<string, string[]> | undefined {
  const byAudience = new Map<string, string[]>();
  for (const value of scope.split(' ')) {
    const parsed = value ? parseApiScope(value) : undefined;
    if (!parsed || covered.has(parsed.audience)) continue;
    byAudience.set(parsed.audience, [...(byAudience.get(parsed.audience) ?? []), parsed.name]);
  }
  return byAudience.size > 0 ? byAudience : undefined;
}

function asList(resource: unknown): string[] {
  if (typeof resource === 'string') return [resource];
  return Array.isArray(resource) ? resource.filter((value) => typeof value === 'string') : [];
}

/**
 * Extends the refresh token of a refresh_token request (form fields as sent) to the APIs its `scope`
 * names, when `clientId` (the client the request claims to be) owns it and is granted every scope
 * asked for. Anything else is left for oidc-provider to refuse as usual.
 */
export async function extendRefreshTokenCoverage(
  provider: Provider,
  directory: Reader,
  form: URLSearchParams,
  clientId: string | undefined,
): Promise<boolean> {
  const value = form.get('refresh_token');
  const scope = form.getAll('scope').length === 1 ? form.get('scope') : null;
  if (form.get('grant_type') !== 'refresh_token' || !value || !scope || !clientId) return false;
  if (value.length > MAX_TOKEN_LENGTH) return false;
  const token = await provider.RefreshToken.find(value);
  if (!token || token.consumed || token.clientId !== clientId || !token.grantId) return false;
  const held = asList(token.resource);
  const wanted = uncoveredApis(scope, new Set(held));
  if (!wanted) return false;

  const application = await directory.applicationByClientId(clientId);
  if (!application) return false;
  for (const [audience, names] of wanted) {
    const found = await directory.apiWithGrant(audience, application.applicationId);
    const delegated = (found?.grant?.scopes ?? []).filter((name) => found?.api.scopes.includes(name));
    if (delegated.length === 0) return false;
    if (names.some((name) => name !== DEFAULT_SCOPE && !delegated.includes(name))) return false;
  }

  const grant = await provider.Grant.find(token.grantId);
  if (!grant) return false;
  const added: string[] = [];
  for (const [audience, names] of wanted) {
    const values = names.map((name) => `${audience}/${name}`);
    grant.addResourceScope(audience, values.join(' '));
    added.push(...values);
  }
  token.scope = [...new Set([...(token.scope ?? '').split(' ').filter(Boolean), ...added])].join(' ');
  token.resource = [...held, ...wanted.keys()];
  await grant.save();
  await token.save();
  return true;
}

/** The client a token request says it is (client_id, or the Basic credentials' user); not verified. */
export function claimedClientId(
  form: URLSearchParams,
  authorization: string | undefined,
): string | undefined {
  const fromForm = form.get('client_id');
  if (fromForm) return fromForm;
  const [scheme, credentials] = (authorization ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !credentials) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon));
  } catch {
    return undefined;
  }
}
