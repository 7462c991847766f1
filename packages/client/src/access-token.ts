/** An access token as the client caches and serves it. Times are milliseconds since the epoch. */
export interface AccessToken {
  /** The bearer token value. */
  token: string;
  tokenType: 'Bearer';
  /** When the issuer says it expires (obtainedAt + expires_in). */
  expiresAt: number;
  /** From this time on the next call refreshes it in the background (refresh_in, or a fraction of the lifetime). */
  refreshAt: number;
  obtainedAt: number;
  /** Granted scope, when the issuer says. */
  scope?: string;
  /**
   * Whether the token is CAE-capable (carries `xms_cc` with `cp1`, or, for an opaque token, was requested
   * with cp1). Only CAE-capable tokens have their claims challenges answered.
   */
  caeCapable: boolean;
}

/** The token serialized for a TokenStore. */
export function serializeAccessToken(token: AccessToken): string {
  return JSON.stringify({ v: 1, ...token });
}

/** A stored token, or undefined when the value is not one (corrupt, foreign or older format). */
export function parseStoredAccessToken(value: string | undefined): AccessToken | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  if (
    r.v !== 1 ||
    typeof r.token !== 'string' ||
    r.tokenType !== 'Bearer' ||
    !Number.isFinite(r.expiresAt) ||
    !Number.isFinite(r.refreshAt) ||
    !Number.isFinite(r.obtainedAt) ||
    typeof r.caeCapable !== 'boolean' ||
    (r.scope !== undefined && typeof r.scope !== 'string')
  ) {
    return undefined;
  }
  const token: AccessToken = {
    token: r.token,
    tokenType: 'Bearer',
    expiresAt: r.expiresAt as number,
    refreshAt: r.refreshAt as number,
    obtainedAt: r.obtainedAt as number,
    caeCapable: r.caeCapable,
  };
  if (typeof r.scope === 'string') token.scope = r.scope;
  return token;
}
