/**
 * Finds the issuer and the admin credentials: `--issuer` with OPENCAE_CLIENT_ID / OPENCAE_CLIENT_SECRET,
 * else the admin.json the issuer wrote in its data folder (`--data`, OPENCAE_DATA, `.opencae`).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError } from './errors.js';

export interface ConnectionOptions {
  data?: string;
  issuer?: string;
}

export interface Connection {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export async function resolveConnection(
  options: ConnectionOptions,
  env: Record<string, string | undefined>,
): Promise<Connection> {
  const issuer = options.issuer ?? env.OPENCAE_ISSUER;
  const clientId = env.OPENCAE_CLIENT_ID;
  const clientSecret = env.OPENCAE_CLIENT_SECRET;
  if (issuer && clientId && clientSecret) return { issuer: trimSlash(issuer), clientId, clientSecret };
  if (options.issuer && !options.data)
    throw new CliError('--issuer needs the admin credentials in OPENCAE_CLIENT_ID and OPENCAE_CLIENT_SECRET');
  const dataDir = resolve(options.data ?? env.OPENCAE_DATA ?? '.opencae');
  const file = join(dataDir, 'admin.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(
      `no admin credentials in ${file}: start the issuer with this data folder (opencae start --data ${dataDir}), or pass --issuer with OPENCAE_CLIENT_ID and OPENCAE_CLIENT_SECRET`,
    );
  }
  let parsed: Partial<Record<'issuer' | 'client_id' | 'client_secret', unknown>>;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON`);
  }
  if (
    typeof parsed.issuer !== 'string' ||
    typeof parsed.client_id !== 'string' ||
    typeof parsed.client_secret !== 'string'
  )
    throw new CliError(`${file} must hold "issuer", "client_id" and "client_secret"`);
  return {
    issuer: trimSlash(options.issuer ?? parsed.issuer),
    clientId: parsed.client_id,
    clientSecret: parsed.client_secret,
  };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
