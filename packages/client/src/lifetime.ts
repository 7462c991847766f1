/**
 * When a token is refreshed and when it stops being served.
 *
 * - refresh: at `refresh_in` when the issuer sends it (OpenCAE and Entra do, for tokens over 2 h: half
 *   the lifetime); otherwise at DEFAULT_REFRESH_FRACTION of the lifetime. 0.75 leaves a quarter of the
 *   lifetime (15+ minutes for a 60-minute token) for background refresh retries before expiry.
 * - expiry: a token is served only while `now < expiresAt - skew`, so it is not sent in its last
 *   seconds and rejected for expiring in transit or on a server whose clock runs ahead.
 */
export const DEFAULT_REFRESH_FRACTION = 0.75;
export const DEFAULT_EXPIRY_SKEW_MS = 30_000;
/** Used only when the issuer gives neither `expires_in` nor a JWT `exp`. */
export const DEFAULT_LIFETIME_SECONDS = 300;

export interface LifetimePolicy {
  refreshFraction: number;
  expirySkewMs: number;
}

/** The last instant (exclusive) at which the token may still be served. */
export function usableUntil(expiresAt: number, policy: LifetimePolicy): number {
  return expiresAt - policy.expirySkewMs;
}

/** When the token should be refreshed in the background, never after it stops being usable. */
export function refreshAtFor(
  obtainedAt: number,
  expiresInSeconds: number,
  refreshInSeconds: number | undefined,
  policy: LifetimePolicy,
): number {
  const expiresAt = obtainedAt + expiresInSeconds * 1000;
  const validRefreshIn =
    refreshInSeconds !== undefined &&
    Number.isFinite(refreshInSeconds) &&
    refreshInSeconds > 0 &&
    refreshInSeconds < expiresInSeconds;
  const refreshAt = validRefreshIn
    ? obtainedAt + refreshInSeconds * 1000
    : obtainedAt + Math.floor(expiresInSeconds * 1000 * policy.refreshFraction);
  return Math.min(refreshAt, usableUntil(expiresAt, policy));
}
