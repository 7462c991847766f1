/**
 * Critical actions on users. Each changes the state the token service enforces at every token request
 * and enqueues the security event that tells resources to stop honouring tokens already issued.
 */
import { randomBytes } from 'node:crypto';
import type { Updateable } from 'kysely';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import { hashPassword } from '../crypto/secrets.js';
import type { Db } from '../storage/database.js';
import type { UsersTable } from '../storage/schema.js';
import { type ActionResult, runCriticalAction } from './critical-action.js';
import type { DirectoryContext } from './directory-context.js';
import {
  accountDisabledEvent,
  accountEnabledEvent,
  accountPurgedEvent,
  credentialChangeEvent,
  type EventPrincipal,
  sessionRevokedEvent,
} from './security-events.js';
import { assertPassword, findUserRow, toUser, type User, type UserRow } from './users.js';

const principalOf = (row: UserRow): EventPrincipal => ({ type: 'user', id: row.id, email: row.email });

/** Ends every sign-in session, grant, code and refresh token of the user held by oidc-provider. */
export async function deleteOidcStateOfUser(trx: Db, userId: string): Promise<void> {
  await trx.deleteFrom('oidc_models').where('account_id', '=', userId).execute();
}

/**
 * Ends the user's browser sessions. Grants and refresh tokens stay until they expire: the token
 * service refuses every one issued before sessions_revoked_at, and can then tell the client why ("the
 * user's sessions were revoked") where a deleted token only gets oidc-provider's "grant request is
 * invalid" (MSAL and other clients show that message to the user).
 */
async function endBrowserSessionsOfUser(trx: Db, userId: string): Promise<void> {
  await trx
    .deleteFrom('oidc_models')
    .where('account_id', '=', userId)
    .where('model', '=', 'Session')
    .execute();
}

async function setUserColumns(trx: Db, id: string, set: Updateable<UsersTable>) {
  return trx.updateTable('users').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export interface ActionOptions {
  /** Why, for the audit log and the events' `reason_admin`. */
  reason?: string | undefined;
}

export function disableUser(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.disable', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    if (!row.enabled)
      return {
        targetType: 'user',
        targetId: row.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toUser(await setUserColumns(trx, row.id, { enabled: false, updated_at: cause.at }));
    const reason = options.reason ?? 'account disabled by an administrator';
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: after,
      events: [
        accountDisabledEvent({ issuer: context.issuer, principal: principalOf(row), at: cause.at, reason }),
      ],
    };
  });
}

export function enableUser(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.enable', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    if (row.enabled)
      return {
        targetType: 'user',
        targetId: row.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toUser(await setUserColumns(trx, row.id, { enabled: true, updated_at: cause.at }));
    const reason = options.reason ?? 'account enabled by an administrator';
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: after,
      events: [
        accountEnabledEvent({ issuer: context.issuer, principal: principalOf(row), at: cause.at, reason }),
      ],
    };
  });
}

/**
 * Soft delete: the row stays so the token service can refuse the account and the audit log can name
 * it; its oidc-provider sessions and grants are removed.
 */
export function deleteUser(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.delete', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    const after = toUser(await setUserColumns(trx, row.id, { deleted_at: cause.at, updated_at: cause.at }));
    await deleteOidcStateOfUser(trx, row.id);
    const reason = options.reason ?? 'account deleted by an administrator';
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: after,
      events: [
        accountPurgedEvent({ issuer: context.issuer, principal: principalOf(row), at: cause.at, reason }),
      ],
    };
  });
}

export interface ResetPasswordResult {
  user: User;
  /** Present when the issuer generated the password: shown once, never stored. */
  temporary_password?: string;
}

/** Sets the given password, or generates one; tokens and sessions from before are dead. */
export async function resetPassword(
  context: DirectoryContext,
  reference: string,
  input: ActionOptions & { password?: string | undefined } = {},
): Promise<ActionResult<ResetPasswordResult>> {
  const generated = input.password === undefined ? randomBytes(15).toString('base64url') : undefined;
  const password = input.password ?? (generated as string);
  assertPassword(password);
  const passwordHash = await hashPassword(password);
  return runCriticalAction(context, 'user.password.reset', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    const after = toUser(
      await setUserColumns(trx, row.id, {
        password_hash: passwordHash,
        credentials_changed_at: cause.at,
        updated_at: cause.at,
      }),
    );
    const reason = input.reason ?? 'password reset by an administrator';
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: generated ? { user: after, temporary_password: generated } : { user: after },
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: principalOf(row), at: cause.at, reason },
          { credentialType: 'password', changeType: 'update' },
        ),
      ],
    };
  });
}

/**
 * Requires a second factor at sign-in. A user already enrolled has MFA enabled at once (CAEP
 * credential-change `create`); otherwise the event is sent when the user enrolls
 * (recordMfaEnrollment), and the token service makes the next sign-in enroll.
 */
export function requireMfa(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.mfa.require', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    if (row.mfa_required)
      return {
        targetType: 'user',
        targetId: row.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toUser(await setUserColumns(trx, row.id, { mfa_required: true, updated_at: cause.at }));
    const reason = options.reason ?? 'multi-factor authentication required by an administrator';
    const events =
      row.totp_enrolled_at !== null
        ? [
            credentialChangeEvent(
              { issuer: context.issuer, principal: principalOf(row), at: cause.at, reason },
              { credentialType: 'app', changeType: 'create', friendlyName: 'TOTP authenticator' },
            ),
          ]
        : [];
    return { targetType: 'user', targetId: row.id, before, after, result: after, events };
  });
}

/**
 * The user enrolled a TOTP authenticator (for the sign-in flow to call): stores the secret and, in the
 * same transaction, announces MFA as enabled. A user already enrolled is left as is (`changed: false`).
 */
export function recordMfaEnrollment(
  context: DirectoryContext,
  userId: string,
  totpSecret: string,
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.mfa.enroll', async (trx, cause) => {
    const row = await findUserRow(trx, userId, { forUpdate: true });
    const before = toUser(row);
    // First enrollment wins (two sign-in tabs racing): a later one changes nothing.
    if (row.totp_enrolled_at !== null)
      return {
        targetType: 'user',
        targetId: row.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toUser(
      await setUserColumns(trx, row.id, {
        totp_secret: context.secrets
          ? context.secrets.seal(SECRET_COLUMNS.totpSecret, totpSecret)
          : totpSecret,
        totp_enrolled_at: cause.at,
        updated_at: cause.at,
      }),
    );
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: after,
      events: [
        credentialChangeEvent(
          {
            issuer: context.issuer,
            principal: principalOf(row),
            at: cause.at,
            reason: 'the user enrolled a TOTP authenticator',
            initiatingEntity: 'user',
          },
          { credentialType: 'app', changeType: 'create', friendlyName: 'TOTP authenticator' },
        ),
      ],
    };
  });
}

/** Revokes every session and refresh token of the user (CAEP session-revoked). */
export function revokeUserSessions(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions = {},
): Promise<ActionResult<User>> {
  return runCriticalAction(context, 'user.sessions.revoke', async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    const after = toUser(
      await setUserColumns(trx, row.id, { sessions_revoked_at: cause.at, updated_at: cause.at }),
    );
    await endBrowserSessionsOfUser(trx, row.id);
    const reason = options.reason ?? 'all sessions revoked by an administrator';
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after,
      result: after,
      events: [
        sessionRevokedEvent({ issuer: context.issuer, principal: principalOf(row), at: cause.at, reason }),
      ],
    };
  });
}
