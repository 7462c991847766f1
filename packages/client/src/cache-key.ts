/**
 * Cache keys: authority + client + (account) + scopes + resources + requested claims. Scopes and
 * resources are order-insensitive; OIDC scopes (openid, profile…) do not select an access token and
 * are left out. The claims part is a hash of the canonical `claims` parameter (capabilities included).
 */
import { createHash } from 'node:crypto';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Accepts `'a b'`, `['a', 'b']` or undefined; trims, drops empties and duplicates, keeps order. */
export function normalizeList(value: string | readonly string[] | undefined): string[] {
  const items = typeof value === 'string' ? value.split(/\s+/) : (value ?? []);
  return [...new Set(items.map((item) => item.trim()).filter((item) => item.length > 0))];
}

export function accessTokenKey(o: {
  authority: string;
  clientId: string;
  account?: string | undefined;
  scopes: readonly string[];
  resources: readonly string[];
  claims: string | undefined;
}): string {
  const scopes = o.scopes.filter((s) => !OIDC_SCOPES.has(s.toLowerCase())).sort();
  const resources = [...o.resources].sort();
  const claims =
    o.claims === undefined ? '-' : createHash('sha256').update(canonicalJson(o.claims)).digest('base64url');
  return [
    'at',
    o.authority,
    o.clientId,
    o.account ?? 'app',
    scopes.join(' '),
    resources.join(' '),
    claims,
  ].join('|');
}

export function accountKey(authority: string, clientId: string): string {
  return ['account', authority, clientId].join('|');
}

/** JSON with object keys sorted, so equal claims requests give equal keys. */
function canonicalJson(json: string): string {
  const sort = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sort);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, sort((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return JSON.stringify(sort(JSON.parse(json)));
}
