/**
 * Checks of the identifiers the token service later parses: API audiences (absolute URIs, `aud` and the
 * prefix of `<audience>/<scope>`), scope and app-role values (space-separated in `scp`), redirect URIs.
 */
import { hasControlCharacter } from './directory-context.js';
import { ValidationError } from './errors.js';

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const PERMISSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$/;
export const MAX_AUDIENCE_LENGTH = 512;

/** An absolute URI (RFC 3986 §4.3: scheme, no fragment), e.g. `api://orders`, `https://x/y`, `urn:a:b`. */
export function assertAudience(audience: string): void {
  const problem =
    audience.length > MAX_AUDIENCE_LENGTH
      ? `must be at most ${MAX_AUDIENCE_LENGTH} characters`
      : !SCHEME.test(audience)
        ? 'must be an absolute URI (such as api://orders or https://api.example.com) or a urn'
        : /[\s"<>\\^`{|}]/.test(audience) || hasControlCharacter(audience)
          ? 'must not contain spaces, control characters or characters URIs do not allow'
          : audience.includes('#')
            ? 'must not have a fragment'
            : audience.endsWith('/')
              ? 'must not end with "/" (scopes are written <audience>/<scope>)'
              : audience.endsWith('/.default')
                ? 'must not end with /.default'
                : !parses(audience)
                  ? 'is not a valid URI'
                  : undefined;
  if (problem) throw new ValidationError(`audience ${problem}`, 'audience');
}

function parses(uri: string): boolean {
  try {
    new URL(uri);
    return true;
  } catch {
    return false;
  }
}

/** Scope and app-role values: no spaces (scopes are space-separated), no "/" (it ends the audience). */
export function assertPermissionNames(
  names: readonly string[],
  field: 'scopes' | 'app_roles' | 'roles',
): string[] {
  for (const name of names) {
    if (!PERMISSION.test(name))
      throw new ValidationError(
        `${field}: "${name}" must be 1 to 120 characters of letters, digits and . _ : - (starting with a letter or digit)`,
        field,
      );
    if (name === '.default') throw new ValidationError(`${field}: ".default" is reserved`, field);
  }
  return [...new Set(names)];
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * OAuth 2.0 Security BCP: https, http only on loopback (native apps, development), or a private-use
 * scheme with a dot (RFC 8252 §7.1, e.g. com.example.app:/callback); never a fragment.
 */
export function assertRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ValidationError(`redirect URI "${uri}" is not an absolute URL`, 'redirect_uris');
  }
  if (uri.length > 2000)
    throw new ValidationError('redirect URIs must be at most 2000 characters', 'redirect_uris');
  if (url.hash || uri.includes('#'))
    throw new ValidationError(`redirect URI "${uri}" must not have a fragment`, 'redirect_uris');
  const scheme = url.protocol.slice(0, -1);
  const ok =
    scheme === 'https' ||
    (scheme === 'http' && LOOPBACK_HOSTS.has(url.hostname)) ||
    (scheme.includes('.') && !['javascript', 'data', 'file', 'vbscript'].includes(scheme));
  if (!ok)
    throw new ValidationError(
      `redirect URI "${uri}" must use https, http on a loopback host, or a private-use scheme such as com.example.app:`,
      'redirect_uris',
    );
}
