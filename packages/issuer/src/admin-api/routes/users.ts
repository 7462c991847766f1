import { z } from 'zod';
import { setUserRiskLevel } from '../../directory/risk.js';
import {
  deleteUser,
  disableUser,
  enableUser,
  requireMfa,
  resetPassword,
  revokeUserSessions,
} from '../../directory/user-actions.js';
import { createUser, getUser, groupsOfUser, listUsers, updateUser } from '../../directory/users.js';
import { actionResult } from '../action-result.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

const tag = 'Users';

type ReasonBody = z.infer<typeof s.reasonBody>;

function userAction(path: string, operationId: string, summary: string, run: typeof disableUser): AdminRoute {
  return route<undefined, ReasonBody>({
    method: 'POST',
    path: `/users/:user/${path}`,
    operationId,
    summary,
    tag,
    body: s.reasonBody,
    response: s.userAction,
    handler: async ({ params, body, directory }) =>
      actionResult('user', await run(directory, params.user!, { reason: body?.reason })),
  });
}

export const userRoutes: AdminRoute[] = [
  route<z.infer<typeof s.userQuery>>({
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'List users (by username, cursor-paginated)',
    tag,
    query: s.userQuery,
    response: s.userPage,
    handler: ({ query, db }) =>
      listUsers(db, {
        limit: query.limit,
        cursor: query.cursor,
        includeDeleted: query.include_deleted,
        kind: query.kind,
      }),
  }),
  route<undefined, z.infer<typeof s.createUserBody>>({
    method: 'POST',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a member or guest user',
    tag,
    body: s.createUserBody,
    status: 201,
    response: s.user,
    handler: ({ body, directory }) =>
      createUser(directory, {
        username: body.username,
        password: body.password,
        displayName: body.display_name,
        email: body.email,
        kind: body.kind,
      }),
  }),
  route({
    method: 'GET',
    path: '/users/:user',
    operationId: 'getUser',
    summary: 'Read a user (by id or username) with its groups',
    tag,
    response: s.userWithGroups,
    handler: async ({ params, db }) => {
      const user = await getUser(db, params.user!);
      return { ...user, groups: await groupsOfUser(db, user.id) };
    },
  }),
  route<undefined, z.infer<typeof s.updateUserBody>>({
    method: 'PATCH',
    path: '/users/:user',
    operationId: 'updateUser',
    summary: 'Change profile fields (display name, email, kind)',
    tag,
    body: s.updateUserBody,
    response: s.user,
    handler: ({ params, body, directory }) =>
      updateUser(directory, params.user!, {
        displayName: body.display_name,
        email: body.email,
        kind: body.kind,
      }),
  }),
  route<{ reason?: string | undefined }>({
    method: 'DELETE',
    path: '/users/:user',
    operationId: 'deleteUser',
    summary: 'Delete a user (critical: RISC account-purged)',
    tag,
    query: z.strictObject({ reason: s.text(1000).optional() }),
    response: s.userAction,
    handler: async ({ params, query, directory }) =>
      actionResult('user', await deleteUser(directory, params.user!, { reason: query.reason })),
  }),
  userAction('disable', 'disableUser', 'Disable a user (critical: RISC account-disabled)', disableUser),
  userAction('enable', 'enableUser', 'Enable a user (critical: RISC account-enabled)', enableUser),
  userAction(
    'require-mfa',
    'requireMfa',
    'Require MFA (critical: CAEP credential-change create)',
    requireMfa,
  ),
  userAction(
    'revoke-sessions',
    'revokeUserSessions',
    'Revoke all sessions and refresh tokens (critical: CAEP session-revoked)',
    revokeUserSessions,
  ),
  route<undefined, z.infer<typeof s.resetPasswordBody>>({
    method: 'POST',
    path: '/users/:user/reset-password',
    operationId: 'resetPassword',
    summary: 'Set or generate a new password (critical: CAEP credential-change password)',
    tag,
    body: s.resetPasswordBody,
    response: s.resetPasswordResult,
    handler: async ({ params, body, directory }) => {
      const outcome = await resetPassword(directory, params.user!, {
        password: body?.password,
        reason: body?.reason,
      });
      return {
        ...actionResult('user', { ...outcome, result: outcome.result.user }),
        ...pickTemporary(outcome.result),
      };
    },
  }),
  route<undefined, z.infer<typeof s.riskBody>>({
    method: 'PUT',
    path: '/users/:user/risk',
    operationId: 'setUserRisk',
    summary: 'Set the risk level (critical: CAEP risk-level-change)',
    tag,
    body: s.riskBody,
    response: s.userAction,
    handler: async ({ params, body, directory }) =>
      actionResult(
        'user',
        await setUserRiskLevel(directory, params.user!, { level: body.level, reason: body.reason }),
      ),
  }),
];

function pickTemporary(result: { temporary_password?: string }) {
  return result.temporary_password ? { temporary_password: result.temporary_password } : {};
}
