import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { fields, table } from '../output.js';
import {
  type CliDependencies,
  type CommonOptions,
  collect,
  runAdmin,
  segment,
  withAdminOptions,
} from './admin-command.js';

interface Application {
  id: string;
  client_id: string;
  name: string;
  token_endpoint_auth_method: string;
  redirect_uris: string[];
  service_principal: { id: string; enabled: boolean; risk_level: string; deleted_at: string | null };
}
interface IssuedSecret {
  value: string;
  hint: string;
  expires_at: string | null;
}
interface Grant {
  audience: string;
  roles: string[];
  scopes: string[];
}
interface Action {
  application: Application;
  changed: boolean;
  txn: string;
  events: number;
}

const status = (app: Application) =>
  app.service_principal.deleted_at ? 'deleted' : app.service_principal.enabled ? 'enabled' : 'disabled';

interface CreateOptions extends CommonOptions {
  name: string;
  api?: string;
  role?: string[];
  scope?: string[];
  ssfReceiver?: boolean;
  redirectUri?: string[];
  public?: boolean;
  jwks?: string;
}

export function appsCommand(program: Command, deps: CliDependencies): void {
  const apps = program.command('apps').description('client applications and their service principals');

  withAdminOptions(
    apps
      .command('create')
      .description('register an application; prints its client_id and client_secret (shown once)')
      .requiredOption('--name <name>', 'display name')
      .option('--api <audience>', 'grant the application access to this API')
      .option('--role <role>', 'app role granted on --api (repeatable)', collect)
      .option('--scope <scope>', 'delegated scope granted on --api (repeatable)', collect)
      .option('--ssf-receiver', 'allow ssf.manage and ssf.read (a Shared Signals receiver)')
      .option('--redirect-uri <uri>', 'redirect URI for sign-in (repeatable)', collect)
      .option('--public', 'public client (no secret; needs --redirect-uri)')
      .option('--jwks <file>', 'private_key_jwt: a file with the public JWKS'),
  ).action((options: CreateOptions) =>
    runAdmin(deps, options, async (client) => {
      if ((options.role || options.scope) && !options.api)
        throw new UsageError('--role and --scope need --api');
      if (options.public && options.jwks) throw new UsageError('--public and --jwks exclude each other');
      const jwks = options.jwks ? await readJwks(options.jwks) : undefined;
      const created = await client.request<{
        application: Application;
        client_secret?: IssuedSecret;
        grants: Grant[];
      }>('POST', '/applications', {
        name: options.name,
        ...(options.public ? { credential: 'none' } : jwks ? { credential: 'private_key_jwt', jwks } : {}),
        ...(options.redirectUri ? { redirect_uris: options.redirectUri } : {}),
        ...(options.api
          ? { grants: [{ api: options.api, roles: options.role ?? [], scopes: options.scope ?? [] }] }
          : {}),
        ...(options.ssfReceiver ? { ssf_receiver: true } : {}),
      });
      const lines: [string, unknown][] = [
        ['client_id', created.application.client_id],
        ...(created.client_secret
          ? ([['client_secret', created.client_secret.value]] as [string, unknown][])
          : []),
        ['name', created.application.name],
        ['object id', created.application.service_principal.id],
        ['auth method', created.application.token_endpoint_auth_method],
        ...created.grants.map((grant): [string, unknown] => [
          `grant ${grant.audience}`,
          [...grant.roles, ...grant.scopes].join(' ') || '(audience only)',
        ]),
      ];
      const note = created.client_secret ? 'Keep the client_secret now: it is not shown again.\n' : '';
      return { json: created, human: `Application created\n${fields(lines)}${note}` };
    }),
  );

  withAdminOptions(apps.command('list').description('list applications')).action((options: CommonOptions) =>
    runAdmin(deps, options, async (client) => {
      const items = await client.list<Application>('/applications');
      return {
        json: items,
        human: table(
          items.map((app) => ({
            ...app,
            status: status(app),
            risk: app.service_principal.risk_level,
            auth: app.token_endpoint_auth_method,
          })),
          ['client_id', 'name', 'status', 'risk', 'auth'],
        ),
      };
    }),
  );

  const action = (
    name: string,
    description: string,
    method: string,
    path: (id: string) => string,
    verb: string,
  ) =>
    withAdminOptions(
      apps
        .command(name)
        .description(description)
        .argument('<client_id>')
        .option('--reason <text>', 'why (audit log, events)'),
    ).action((clientId: string, options: CommonOptions & { reason?: string }) =>
      runAdmin(deps, options, async (client) => {
        const reason = options.reason ? { reason: options.reason } : {};
        const result =
          method === 'DELETE'
            ? await client.request<Action>(
                'DELETE',
                `${path(clientId)}${options.reason ? `?reason=${encodeURIComponent(options.reason)}` : ''}`,
              )
            : await client.request<Action>(method, path(clientId), reason);
        const human = result.changed
          ? `Application ${clientId} ${verb} (security events: ${result.events}, txn ${result.txn})\n`
          : `Application ${clientId} was already ${verb}\n`;
        return { json: result, human };
      }),
    );
  action(
    'disable',
    'disable the service principal: no new tokens, resources told at once',
    'POST',
    (id) => `/service-principals/${segment(id)}/disable`,
    'disabled',
  );
  action(
    'enable',
    'enable the service principal again',
    'POST',
    (id) => `/service-principals/${segment(id)}/enable`,
    'enabled',
  );
  action(
    'delete',
    'delete the service principal',
    'DELETE',
    (id) => `/service-principals/${segment(id)}`,
    'deleted',
  );

  withAdminOptions(
    apps
      .command('reset-secret')
      .description('revoke every client secret and issue a new one (shown once)')
      .argument('<client_id>')
      .option('--reason <text>', 'why (audit log, events)'),
  ).action((clientId: string, options: CommonOptions & { reason?: string }) =>
    runAdmin(deps, options, async (client) => {
      const result = await client.request<{ client_secret: IssuedSecret; events: number }>(
        'POST',
        `/applications/${segment(clientId)}/reset-secret`,
        options.reason ? { reason: options.reason } : {},
      );
      return {
        json: result,
        human: `New client secret for ${clientId}\n${fields([
          ['client_id', clientId],
          ['client_secret', result.client_secret.value],
        ])}The previous secrets are revoked. Keep this one now: it is not shown again.\n`,
      };
    }),
  );
}

async function readJwks(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--jwks ${file}: ${(error as Error).message}`);
  }
}
