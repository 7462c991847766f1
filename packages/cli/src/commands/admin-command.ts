/** What every admin command shares: --data / --issuer / --json, and a client for the admin API. */
import type { Command } from 'commander';
import { AdminClient, type TokenSource } from '../admin-client.js';
import { resolveConnection } from '../connection.js';
import type { CliIo } from '../io.js';
import { printJson } from '../output.js';

export interface CliDependencies {
  io: CliIo;
  /** Replaces client-credentials token acquisition (tests). */
  tokenSource?: TokenSource;
}

export interface CommonOptions {
  data?: string;
  issuer?: string;
  json?: boolean;
}

export function withAdminOptions(command: Command): Command {
  return command
    .option(
      '--data <dir>',
      'data folder of the issuer, holding admin.json (env OPENCAE_DATA, default .opencae)',
    )
    .option('--issuer <url>', 'issuer URL; credentials from OPENCAE_CLIENT_ID and OPENCAE_CLIENT_SECRET')
    .option('--json', 'print the JSON answer of the admin API');
}

/**
 * Runs an admin operation: `run` calls the API and returns the JSON to print with --json and the
 * human text to print otherwise.
 */
export async function runAdmin(
  deps: CliDependencies,
  options: CommonOptions,
  run: (client: AdminClient) => Promise<{ json: unknown; human: string }>,
): Promise<void> {
  const connection = await resolveConnection(options, deps.io.env);
  const client = new AdminClient(connection, deps.io.fetch, deps.tokenSource);
  const { json, human } = await run(client);
  if (options.json) printJson(deps.io, json);
  else deps.io.stdout(human);
}

/** Path segment for an id, username, client_id or audience. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
