import type { AccessTokenClaims } from '../claims.js';

/**
 * Subjects are matched by keys, so the per-request check is a few map lookups whatever the size of
 * the state. A key is a kind and an identifier:
 *   p:<id>     a principal: user or service principal (token sub / oid; for app tokens also azp / appid)
 *   s:<sid>    a session (token sid)
 *   e:<email>  an email address, lower-cased (token email)
 *   t:<tid>    a tenant (token tid)
 */
export type SubjectKind = 'p' | 's' | 'e' | 't';

export function subjectKey(kind: SubjectKind, id: string): string {
  return `${kind}:${kind === 'e' ? id.toLowerCase() : id}`;
}

/** The keys a token can be revoked under, principal keys first. */
export function tokenSubjectKeys(claims: AccessTokenClaims): string[] {
  const keys: string[] = [];
  const add = (kind: SubjectKind, value: unknown) => {
    if (typeof value !== 'string' || value === '') return;
    const key = subjectKey(kind, value);
    if (!keys.includes(key)) keys.push(key);
  };
  add('p', claims.sub);
  add('p', claims.oid);
  // An application's own tokens carry its client id; a user's token names the client in azp too, but
  // revoking an application must not revoke users' delegated tokens, so only app tokens match here.
  if (isAppToken(claims)) {
    add('p', claims.azp);
    add('p', claims.appid);
  }
  add('s', claims.sid);
  add('e', claims.email);
  add('t', claims.tid);
  return keys;
}

function isAppToken(claims: AccessTokenClaims): boolean {
  if (claims.idtyp !== undefined) return claims.idtyp === 'app';
  return claims.sub !== undefined && (claims.sub === claims.azp || claims.sub === claims.appid);
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function simpleKeys(subject: Loose, issuer: string, role: 'principal' | 'session' | 'tenant'): string[] {
  const kind: SubjectKind = role === 'session' ? 's' : role === 'tenant' ? 't' : 'p';
  switch (subject.format) {
    case 'opaque':
      return typeof subject.id === 'string' ? [subjectKey(kind, subject.id)] : [];
    case 'iss_sub':
      // A subject named by another issuer's `sub` is not one of our tokens' subjects.
      return typeof subject.sub === 'string' && sameIssuer(subject.iss, issuer)
        ? [subjectKey(kind, subject.sub)]
        : [];
    case 'email':
      return typeof subject.email === 'string' ? [subjectKey('e', subject.email)] : [];
    case 'account': {
      const uri = typeof subject.uri === 'string' ? subject.uri : '';
      return uri.toLowerCase().startsWith('acct:') ? [subjectKey('e', uri.slice(5))] : [];
    }
    case 'aliases':
      return Array.isArray(subject.identifiers)
        ? subject.identifiers.filter(isObject).flatMap((alias) => simpleKeys(alias, issuer, role))
        : [];
    default:
      return [];
  }
}

function sameIssuer(value: unknown, issuer: string): boolean {
  return typeof value === 'string' && value.replace(/\/+$/, '') === issuer.replace(/\/+$/, '');
}

/**
 * The keys a SET subject (RFC 9493 / SSF `sub_id`) designates. A complex subject names its most
 * specific member: a session before a user, a user before an application, then a tenant.
 * Unknown or foreign subjects designate nothing.
 */
export function setSubjectKeys(subject: unknown, issuer: string): string[] {
  if (!isObject(subject)) return [];
  if (subject.format !== undefined && subject.format !== 'complex')
    return simpleKeys(subject, issuer, 'principal');
  for (const [member, role] of [
    ['session', 'session'],
    ['user', 'principal'],
    ['application', 'principal'],
    ['tenant', 'tenant'],
  ] as const) {
    const value = subject[member];
    if (isObject(value)) {
      const keys = simpleKeys(value, issuer, role);
      if (keys.length > 0) return keys;
    }
  }
  return [];
}
