import type { Command } from 'commander';
import { fields, table } from '../output.js';
import {
  type CliDependencies,
  type CommonOptions,
  collect,
  runAdmin,
  segment,
  withAdminOptions,
} from './admin-command.js';

interface Api {
  id: string;
  audience: string;
  name: string;
  cae_enabled: boolean;
  scopes: string[];
  app_roles: string[];
  built_in: boolean;
}

const describeApi = (api: Api) =>
  fields([
    ['audience', api.audience],
    ['id', api.id],
    ['name', api.name],
    ['cae', api.cae_enabled ? 'enabled' : 'disabled'],
    ['scopes', api.scopes],
    ['app roles', api.app_roles],
  ]);

export function apisCommand(program: Command, deps: CliDependencies): void {
  const apis = program.command('apis').description('APIs (resource servers) tokens are issued for');

  withAdminOptions(
    apis
      .command('create')
      .description('register an API')
      .requiredOption('--audience <uri>', 'audience: an absolute URI such as api://orders, or a urn')
      .option('--name <name>', 'display name (default: the audience)')
      .option('--cae', 'CAE-enabled: CAE-capable clients get long-lived tokens with xms_cc')
      .option('--scope <scope>', 'a delegated scope (repeatable)', collect)
      .option('--role <role>', 'an app role (repeatable)', collect),
  ).action(
    (
      options: CommonOptions & {
        audience: string;
        name?: string;
        cae?: boolean;
        scope?: string[];
        role?: string[];
      },
    ) =>
      runAdmin(deps, options, async (client) => {
        const api = await client.request<Api>('POST', '/apis', {
          audience: options.audience,
          ...(options.name ? { name: options.name } : {}),
          cae_enabled: options.cae ?? false,
          scopes: options.scope ?? [],
          app_roles: options.role ?? [],
        });
        return { json: api, human: `API created\n${describeApi(api)}` };
      }),
  );

  withAdminOptions(
    apis
      .command('update')
      .description('rename an API or turn CAE on or off')
      .argument('<audience>', 'audience or id of the API')
      .option('--name <name>', 'new display name')
      .option('--cae', 'enable CAE')
      .option('--no-cae', 'disable CAE'),
  ).action((audience: string, options: CommonOptions & { name?: string; cae?: boolean }) =>
    runAdmin(deps, options, async (client) => {
      const api = await client.request<Api>('PATCH', `/apis/${segment(audience)}`, {
        ...(options.name ? { name: options.name } : {}),
        ...(options.cae !== undefined ? { cae_enabled: options.cae } : {}),
      });
      return { json: api, human: `API updated\n${describeApi(api)}` };
    }),
  );

  withAdminOptions(apis.command('list').description('list APIs')).action((options: CommonOptions) =>
    runAdmin(deps, options, async (client) => {
      const items = await client.list<Api>('/apis');
      return {
        json: items,
        human: table(
          items.map((api) => ({ ...api, cae: api.cae_enabled ? 'yes' : 'no', roles: api.app_roles })),
          ['audience', 'name', 'cae', 'scopes', 'roles'],
        ),
      };
    }),
  );

  withAdminOptions(
    apis.command('delete').description('delete an API and its grants').argument('<audience>'),
  ).action((audience: string, options: CommonOptions) =>
    runAdmin(deps, options, async (client) => {
      await client.request('DELETE', `/apis/${segment(audience)}`);
      return { json: { deleted: audience }, human: `API ${audience} deleted\n` };
    }),
  );
}
