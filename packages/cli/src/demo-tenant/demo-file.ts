/**
 * `<data>/demo.json`: what the demo tenant seed created and the credentials only it knows (user
 * passwords, client secrets). Written with mode 0600, atomically; never logged.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../errors.js';

export const DEMO_FILE = 'demo.json';

export interface DemoUser {
  id: string;
  username: string;
  password: string;
  kind: 'member' | 'guest';
}

export interface DemoApplication {
  client_id: string;
  client_secret: string;
}

export interface DemoTenant {
  issuer: string;
  api: { audience: string; scope: string; role: string };
  member: DemoUser;
  guest: DemoUser;
  /** Member of the built-in "OpenCAE Administrators" group: signs in to the console. */
  administrator: DemoUser;
  /** Client credentials, app role on the API (a workload identity). */
  daemon: DemoApplication;
  /** The sample API's Shared Signals receiver (ssf.manage, ssf.read). */
  receiver: DemoApplication;
  /** A confidential web app that signs users in (authorization code + PKCE). */
  web_app: DemoApplication & { redirect_uri: string };
  named_location: { id: string; name: string };
  policy: { id: string; name: string };
}

export function demoFilePath(dataDir: string): string {
  return join(dataDir, DEMO_FILE);
}

/** The saved tenant, or a partial one (fields absent) when the file is missing or half written. */
export async function readDemoFile(dataDir: string): Promise<Partial<DemoTenant>> {
  let text: string;
  try {
    text = await readFile(demoFilePath(dataDir), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<DemoTenant>) : {};
  } catch {
    throw new CliError(`${demoFilePath(dataDir)} is not valid JSON: fix or delete it to seed again`);
  }
}

export async function writeDemoFile(dataDir: string, tenant: DemoTenant): Promise<void> {
  const file = demoFilePath(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(tenant, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode is masked by the umask; make sure.
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
