/**
 * `opencae start` on a fresh data folder as a child process (which runs the sample API as its own
 * child): the demo then acts only over HTTP, as an administrator, a client and an attacker would.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { READY_IPC_ENV } from '../io.js';
import { forkTypescript } from '../processes/typescript-child.js';

const source = fileURLToPath(new URL('../main.ts', import.meta.url));
const MAIN = existsSync(source) ? source : fileURLToPath(new URL('../main.js', import.meta.url));

export interface StackProcess {
  issuer: string;
  api: string;
  dataDir: string;
  /** SIGTERM and wait (the start command stops the API, then the issuer). */
  stop(): Promise<void>;
}

export async function startStackProcess(
  dataDir: string,
  env: Record<string, string | undefined>,
): Promise<StackProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...env, [READY_IPC_ENV]: '1', OPENCAE_DATA: dataDir };
  // The demo always runs on its own embedded store and in-memory API state.
  delete childEnv.DATABASE_URL;
  delete childEnv.REDIS_URL;
  delete childEnv.PORT;
  delete childEnv.OPENCAE_ISSUER_URL;
  delete childEnv.OPENCAE_API_PORT;
  const child = await forkTypescript<{ type: 'ready'; issuer: string; api?: string; dataDir: string }>(
    MAIN,
    ['start', '--data', dataDir, '--port', '0', '--api-port', '0', '--demo'],
    { env: childEnv, what: 'the issuer and sample API', silent: true, timeoutMs: 180_000 },
  );
  if (!child.ready.api) {
    await child.stop();
    throw new Error('the stack started without the sample API');
  }
  return { issuer: child.ready.issuer, api: child.ready.api, dataDir, stop: () => child.stop(30_000) };
}
