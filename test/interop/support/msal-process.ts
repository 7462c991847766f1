/**
 * Drives msal-worker.ts in a child process: one JSON line per command, one per answer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv } from '../../demo/cli-process.js';
import type { Command, MsalFailure, TokenSummary } from './msal-worker.js';

export type MsalAnswer =
  | { result: TokenSummary; failure?: undefined }
  | { result?: undefined; failure: MsalFailure };

export interface MsalProcess {
  run(command: Command): Promise<MsalAnswer>;
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./msal-worker.ts', import.meta.url));

export function startMsal(o: { authority: string; caFile: string }): MsalProcess {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', tsx, '--conditions=opencae-source', WORKER],
    {
      env: cleanEnv({ MSAL_AUTHORITY: o.authority, NODE_EXTRA_CA_CERTS: o.caFile }),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const pending = new Map<number, { resolve(answer: MsalAnswer): void; reject(error: Error): void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const answer = JSON.parse(line) as MsalAnswer & { id: number };
    pending.get(answer.id)?.resolve(answer);
    pending.delete(answer.id);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`the MSAL process exited (${code}):\n${stderr}`));
    pending.clear();
  });
  let nextId = 0;
  return {
    run(command) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin!.write(`${JSON.stringify({ id, command })}\n`);
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}
