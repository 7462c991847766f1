/**
 * Current-state evaluation, run at every token request: a grant, session or refresh token is only
 * as good as the state of the user and the application right now. Each refusal says why.
 */
import type { ApplicationState, UserState } from './directory-reader.js';
import { TokenServiceError } from './errors.js';

const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/**
 * Whether a grant established at `establishedAt` may predate a change made at `changedAt`. Sign-in
 * times (`auth_time`) and token times (`iat`) are whole seconds while changes are recorded in
 * milliseconds, so the comparison is in whole seconds: within the change's own second the order is
 * unknown and the grant is refused. A sign-in that completes in that second after the change is
 * stamped with the next second instead (issueSecond), so it is never refused.
 */
export function establishedBefore(establishedAt: Date, changedAt: Date | null | undefined): boolean {
  return !!changedAt && epochSeconds(establishedAt) <= epochSeconds(changedAt);
}

/**
 * The time (unix seconds) to stamp on a sign-in (`auth_time`) or a token (`iat`) made at `nowMs`, after
 * the given state changes: the current second, or the second after the latest change when that change
 * fell in the current second (or later, on a skewed replica), so establishedBefore() — and resources,
 * which refuse iat <= a revocation's second — never take it for an older one.
 */
export function issueSecond(nowMs: number, changes: readonly (Date | null | undefined)[]): number {
  let seconds = Math.floor(nowMs / 1000);
  for (const change of changes) if (change) seconds = Math.max(seconds, epochSeconds(change) + 1);
  return seconds;
}

/**
 * Why a user may not get a token from a grant that was established at `establishedAt` (sign-in
 * time of the session behind a code or refresh token); undefined when they may.
 */
export function userRefusal(
  user: UserState | undefined,
  establishedAt: Date | undefined,
): string | undefined {
  if (!user) return 'the user no longer exists';
  if (user.deletedAt) return 'the user account was deleted';
  if (!user.enabled) return 'the user account is disabled';
  if (user.riskLevel === 'high') return 'the user is at high risk; sign-in is blocked';
  if (establishedAt) {
    if (establishedBefore(establishedAt, user.sessionsRevokedAt))
      return "the user's sessions were revoked after this grant was issued; sign in again";
    if (establishedBefore(establishedAt, user.credentialsChangedAt))
      return "the user's credentials changed after this grant was issued; sign in again";
  }
  return undefined;
}

/** Why an application (its service principal) may not get or use tokens; undefined when it may. */
export function applicationRefusal(
  application: ApplicationState | undefined,
  grantEstablishedAt?: Date,
): string | undefined {
  if (!application) return 'the application no longer exists';
  const sp = application.servicePrincipal;
  if (!sp) return 'the application has no service principal in this tenant';
  if (sp.deletedAt) return "the application's service principal was deleted";
  if (!sp.enabled) return "the application's service principal is disabled";
  if (sp.riskLevel === 'high')
    return "the application's service principal is at high risk; token issuance is blocked";
  if (grantEstablishedAt) {
    if (establishedBefore(grantEstablishedAt, sp.sessionsRevokedAt))
      return "the application's sessions were revoked after this grant was issued";
    if (establishedBefore(grantEstablishedAt, sp.credentialsChangedAt))
      return "the application's credentials changed after this grant was issued";
  }
  return undefined;
}

export function assertUserAllowed(
  user: UserState | undefined,
  establishedAt?: Date,
): asserts user is UserState {
  const why = userRefusal(user, establishedAt);
  if (why) throw new TokenServiceError('ERR_SUBJECT_NOT_ALLOWED', why);
}

export function assertApplicationAllowed(
  application: ApplicationState | undefined,
  establishedAt?: Date,
): void {
  const why = applicationRefusal(application, establishedAt);
  if (why) throw new TokenServiceError('ERR_CLIENT_NOT_ALLOWED', why);
}
