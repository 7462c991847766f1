import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { fields, table } from '../output.js';
import {
  type CliDependencies,
  type CommonOptions,
  runAdmin,
  segment,
  withAdminOptions,
} from './admin-command.js';

interface User {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  kind: string;
  enabled: boolean;
  mfa_required: boolean;
  risk_level: string;
  deleted_at: string | null;
}
interface Action {
  user: User;
  changed: boolean;
  txn: string;
  events: number;
  temporary_password?: string;
}

const RISK_LEVELS = ['none', 'low', 'medium', 'high'];

export function usersCommand(program: Command, deps: CliDependencies): void {
  const users = program.command('users').description('users (members and guests)');

  withAdminOptions(
    users
      .command('create')
      .description('create a user')
      .requiredOption('--username <name>', 'sign-in name')
      .option('--password <password>', 'initial password (at least 8 characters)')
      .option('--email <email>', 'email address (also used as an event subject alias)')
      .option('--display-name <name>', 'display name')
      .option('--guest', 'a guest rather than a member'),
  ).action(
    (
      options: CommonOptions & {
        username: string;
        password?: string;
        email?: string;
        displayName?: string;
        guest?: boolean;
      },
    ) =>
      runAdmin(deps, options, async (client) => {
        const user = await client.request<User>('POST', '/users', {
          username: options.username,
          ...(options.password !== undefined ? { password: options.password } : {}),
          ...(options.email ? { email: options.email } : {}),
          ...(options.displayName ? { display_name: options.displayName } : {}),
          kind: options.guest ? 'guest' : 'member',
        });
        return {
          json: user,
          human: `User created\n${fields([
            ['username', user.username],
            ['object id', user.id],
            ['kind', user.kind],
            ['email', user.email],
          ])}`,
        };
      }),
  );

  withAdminOptions(users.command('list').description('list users')).action((options: CommonOptions) =>
    runAdmin(deps, options, async (client) => {
      const items = await client.list<User>('/users');
      return {
        json: items,
        human: table(
          items.map((user) => ({
            ...user,
            status: user.enabled ? 'enabled' : 'disabled',
            mfa: user.mfa_required ? 'required' : '-',
            risk: user.risk_level,
          })),
          ['username', 'kind', 'email', 'status', 'mfa', 'risk', 'id'],
        ),
      };
    }),
  );

  const action = (name: string, description: string, path: string, done: string) =>
    withAdminOptions(
      users
        .command(name)
        .description(description)
        .argument('<username>')
        .option('--reason <text>', 'why (audit log, events)'),
    ).action((username: string, options: CommonOptions & { reason?: string }) =>
      runAdmin(deps, options, async (client) => {
        const result = await client.request<Action>(
          'POST',
          `/users/${segment(username)}/${path}`,
          options.reason ? { reason: options.reason } : {},
        );
        return { json: result, human: summary(username, done, result) };
      }),
    );
  action('disable', 'disable the user: no new tokens, resources told at once', 'disable', 'disabled');
  action('enable', 'enable the user again', 'enable', 'enabled');
  action('require-mfa', 'require a second factor (TOTP) at sign-in', 'require-mfa', 'now requires MFA');
  action(
    'revoke-sessions',
    'revoke every session and refresh token of the user',
    'revoke-sessions',
    'sessions revoked',
  );

  withAdminOptions(
    users
      .command('delete')
      .description('delete the user')
      .argument('<username>')
      .option('--reason <text>', 'why (audit log, events)'),
  ).action((username: string, options: CommonOptions & { reason?: string }) =>
    runAdmin(deps, options, async (client) => {
      const query = options.reason ? `?reason=${encodeURIComponent(options.reason)}` : '';
      const result = await client.request<Action>('DELETE', `/users/${segment(username)}${query}`);
      return { json: result, human: summary(username, 'deleted', result) };
    }),
  );

  withAdminOptions(
    users
      .command('reset-password')
      .description('set a new password, or generate one; sessions and tokens from before are refused')
      .argument('<username>')
      .option('--password <password>', 'the new password (generated when omitted)')
      .option('--reason <text>', 'why (audit log, events)'),
  ).action((username: string, options: CommonOptions & { password?: string; reason?: string }) =>
    runAdmin(deps, options, async (client) => {
      const result = await client.request<Action>('POST', `/users/${segment(username)}/reset-password`, {
        ...(options.password !== undefined ? { password: options.password } : {}),
        ...(options.reason ? { reason: options.reason } : {}),
      });
      const generated = result.temporary_password
        ? `  temporary password: ${result.temporary_password}\n`
        : '';
      return { json: result, human: `${summary(username, 'password reset', result)}${generated}` };
    }),
  );

  withAdminOptions(
    users
      .command('set-risk')
      .description('set the risk level (none, low, medium, high); high blocks new tokens')
      .argument('<username>')
      .argument('<level>', RISK_LEVELS.join(' | '))
      .option('--reason <text>', 'why (the event’s risk_reason)'),
  ).action((username: string, level: string, options: CommonOptions & { reason?: string }) => {
    if (!RISK_LEVELS.includes(level))
      throw new UsageError(`the risk level must be one of ${RISK_LEVELS.join(', ')}`);
    return runAdmin(deps, options, async (client) => {
      const result = await client.request<Action>('PUT', `/users/${segment(username)}/risk`, {
        level,
        ...(options.reason ? { reason: options.reason } : {}),
      });
      return { json: result, human: summary(username, `risk level ${level}`, result) };
    });
  });
}

function summary(username: string, done: string, result: Action): string {
  return result.changed
    ? `User ${username}: ${done} (security events: ${result.events}, txn ${result.txn})\n`
    : `User ${username}: already ${done}, nothing changed\n`;
}
