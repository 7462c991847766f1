/**
 * Turns a token endpoint response (already shape-checked by oauth4webapi) into the AccessToken the
 * client serves, rejecting anything unusable with a typed error.
 */
import { CP1, tokenHasCapability } from '@opencae/protocol';
import type { TokenEndpointResponse } from 'oauth4webapi';
import type { AccessToken } from './access-token.js';
import { TokenResponseError } from './errors.js';
import { DEFAULT_LIFETIME_SECONDS, type LifetimePolicy, refreshAtFor } from './lifetime.js';

/** A token lifetime beyond a year is a broken issuer, not a feature. */
const MAX_LIFETIME_SECONDS = 366 * 24 * 3600;

export interface TokenGrant {
  accessToken: AccessToken;
  /** A (possibly rotated) refresh token, when the issuer sent one. */
  refreshToken?: string;
  /** Seconds, when the issuer says how long the refresh token lives. */
  refreshTokenExpiresIn?: number;
  idToken?: string;
}

export function toTokenGrant(
  response: TokenEndpointResponse,
  o: { now: number; policy: LifetimePolicy; requestedCapabilities: readonly string[] },
): TokenGrant {
  if (response.token_type !== 'bearer') {
    throw new TokenResponseError(
      'ERR_TOKEN_RESPONSE_INVALID',
      `token_type is "${response.token_type}"; this client sends Bearer tokens only`,
    );
  }
  const payload = jwtPayload(response.access_token);
  const expiresIn = lifetimeSeconds(response, payload, o.now);
  const refreshIn =
    typeof response.refresh_in === 'number' ? response.refresh_in : Number(response.refresh_in);
  const accessToken: AccessToken = {
    token: response.access_token,
    tokenType: 'Bearer',
    obtainedAt: o.now,
    expiresAt: o.now + expiresIn * 1000,
    refreshAt: refreshAtFor(o.now, expiresIn, Number.isFinite(refreshIn) ? refreshIn : undefined, o.policy),
    // Declared by this client, and granted: a JWT says so in xms_cc; an opaque token is taken on trust.
    caeCapable:
      o.requestedCapabilities.some((c) => c.toLowerCase() === CP1) &&
      (payload ? tokenHasCapability(payload.xms_cc, CP1) : true),
  };
  if (response.scope !== undefined) accessToken.scope = response.scope;
  const grant: TokenGrant = { accessToken };
  if (response.refresh_token !== undefined) grant.refreshToken = response.refresh_token;
  if (typeof response.refresh_token_expires_in === 'number' && response.refresh_token_expires_in > 0) {
    grant.refreshTokenExpiresIn = response.refresh_token_expires_in;
  }
  if (response.id_token !== undefined) grant.idToken = response.id_token;
  return grant;
}

function lifetimeSeconds(
  response: TokenEndpointResponse,
  payload: Record<string, unknown> | undefined,
  now: number,
): number {
  let seconds: number;
  if (response.expires_in !== undefined) {
    seconds = response.expires_in;
  } else if (payload && typeof payload.exp === 'number') {
    seconds = Math.floor(payload.exp - now / 1000);
  } else {
    seconds = DEFAULT_LIFETIME_SECONDS;
  }
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_LIFETIME_SECONDS) {
    throw new TokenResponseError(
      'ERR_TOKEN_RESPONSE_INVALID',
      `the token lifetime (${seconds} s) is not a positive number of seconds up to one year`,
    );
  }
  return seconds;
}

/** The payload of a JWT, read without verification (the client is not the audience); undefined if opaque. */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
