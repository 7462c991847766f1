/**
 * Device authorization grant (RFC 8628): show the user a code, poll the token endpoint at the issuer's
 * pace (`interval`, +5 s on `slow_down`) until they approve, deny, or the code expires.
 */
import type { Clock } from './clock.js';
import { AuthorizationFailedError, TokenRequestError } from './errors.js';
import type { TokenGrant } from './token-response.js';

export interface DeviceSignIn {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | undefined;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Polls until the user approves; resolves with the access token, rejects on denial or expiry. */
  complete(signal?: AbortSignal): Promise<import('./access-token.js').AccessToken>;
}

export async function pollDeviceCode(
  o: { intervalSeconds: number; expiresAt: number; clock: Clock; signal?: AbortSignal | undefined },
  poll: () => Promise<TokenGrant>,
): Promise<TokenGrant> {
  let interval = Math.max(1, o.intervalSeconds) * 1000;
  for (;;) {
    await o.clock.sleep(interval, o.signal);
    if (o.clock.now() >= o.expiresAt) {
      throw new AuthorizationFailedError('the device code expired before the user approved the sign-in', {
        error: 'expired_token',
      });
    }
    try {
      return await poll();
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      if (error.error === 'authorization_pending') continue;
      if (error.error === 'slow_down') {
        interval += 5_000;
        continue;
      }
      throw error;
    }
  }
}
