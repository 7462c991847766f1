import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { table } from '../output.js';
import { type CliDependencies, type CommonOptions, runAdmin, withAdminOptions } from './admin-command.js';

interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  txn: string | null;
}

export function auditCommand(program: Command, deps: CliDependencies): void {
  const audit = program.command('audit').description('the audit log');
  withAdminOptions(
    audit
      .command('list')
      .description('newest entries first')
      .option('--limit <n>', 'how many entries (default 50)', '50')
      .option('--action <action>', 'only this action, e.g. user.disable')
      .option('--actor <actor>', 'only this actor (client_id or user id)')
      .option('--target <id>', 'only entries about this object id')
      .option('--since <time>', 'ISO 8601 time'),
  ).action(
    (
      options: CommonOptions & {
        limit: string;
        action?: string;
        actor?: string;
        target?: string;
        since?: string;
      },
    ) =>
      runAdmin(deps, options, async (client) => {
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
        const query = new URLSearchParams();
        if (options.action) query.set('action', options.action);
        if (options.actor) query.set('actor', options.actor);
        if (options.target) query.set('target_id', options.target);
        if (options.since) query.set('since', options.since);
        const items = await client.list<AuditEntry>(`/audit-log${query.size ? `?${query}` : ''}`, limit);
        return { json: items, human: table(items, ['at', 'actor', 'action', 'target_type', 'target_id']) };
      }),
  );
}
