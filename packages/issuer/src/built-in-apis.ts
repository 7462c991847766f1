/**
 * The issuer's own APIs, created by the directory bootstrap: the admin API and the Shared Signals
 * stream management API. One definition, used by every route guard and by the token service.
 */
export const ADMIN_AUDIENCE = 'urn:opencae:admin';
export const ADMIN_ROLE = 'admin';

export const SSF_AUDIENCE = 'urn:opencae:ssf';
export const SSF_MANAGE = 'ssf.manage';
export const SSF_READ = 'ssf.read';
export const SSF_PERMISSIONS: readonly string[] = [SSF_MANAGE, SSF_READ];

/** Members of this built-in group get the delegated `admin` scope: the console's administrators. */
export const ADMINISTRATORS_GROUP = 'OpenCAE Administrators';
