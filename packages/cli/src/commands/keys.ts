import type { Command } from 'commander';
import { fields, table } from '../output.js';
import { type CliDependencies, type CommonOptions, runAdmin, withAdminOptions } from './admin-command.js';

interface SigningKey {
  kid: string;
  alg: string;
  state: 'active' | 'next' | 'retired';
  created_at: string;
  published_at: string;
  retired_at: string | null;
  published_until: string | null;
}
interface Rotation {
  active_kid: string;
  next_kid: string;
  retired_kid: string | null;
  retired_published_until: string | null;
  txn: string;
}

export function keysCommand(program: Command, deps: CliDependencies): void {
  const keys = program.command('keys').description('the token signing keys');

  withAdminOptions(
    keys
      .command('list')
      .description(
        'the active key first, then the next one (published, not signing yet), then retired ones (no key material)',
      ),
  ).action((options: CommonOptions) =>
    runAdmin(deps, options, async (client) => {
      const { items } = await client.request<{ items: SigningKey[] }>('GET', '/signing-keys');
      return {
        json: items,
        human: table(items, ['kid', 'alg', 'state', 'published_at', 'retired_at', 'published_until']),
      };
    }),
  );

  withAdminOptions(
    keys
      .command('rotate')
      .description(
        'sign with the pre-published next key and publish a new next key; the old key stays published until the tokens it signed expire',
      )
      .option('--reason <text>', 'why (audit log)')
      .option(
        '--force',
        'rotate even if the next key was published less than 5 minutes ago (its tokens may be refused until verifiers refetch the JWKS)',
      ),
  ).action((options: CommonOptions & { reason?: string; force?: boolean }) =>
    runAdmin(deps, options, async (client) => {
      const result = await client.request<Rotation>('POST', '/signing-keys/rotate', {
        ...(options.reason ? { reason: options.reason } : {}),
        ...(options.force ? { force: true } : {}),
      });
      return {
        json: result,
        human: `Signing key rotated (txn ${result.txn})\n${fields([
          ['active key', result.active_kid],
          ['next key', result.next_kid],
          ['retired key', result.retired_kid],
          ['published until', result.retired_published_until],
        ])}`,
      };
    }),
  );
}
