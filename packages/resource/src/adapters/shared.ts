import type { AccessTokenClaims } from '../claims.js';
import { createResourceGuard, type Rejection, type ResourceGuard } from '../guard.js';
import type { ResourceOptions } from '../options.js';

/** What an adapter attaches to an accepted request. */
export interface CaeAuth {
  claims: AccessTokenClaims;
  token: string;
  clientIp: string | undefined;
}

/** Adapters take either options (a guard is created and validated now) or a guard shared with others. */
export type GuardSource = ResourceOptions | ResourceGuard;

export function toGuard(source: GuardSource): ResourceGuard {
  return typeof (source as ResourceGuard).verifyRequest === 'function'
    ? (source as ResourceGuard)
    : createResourceGuard(source as ResourceOptions);
}

/** Headers of every rejection: the challenge, JSON, and never cached. */
export function rejectionHeaders(rejection: Rejection): Record<string, string> {
  return { ...rejection.headers, 'content-type': 'application/json', 'cache-control': 'no-store' };
}
