/** Runs `opencae` in-process with captured output. */
import { createServer } from 'node:net';
import type { TokenSource } from '../src/admin-client.js';
import type { CliIo } from '../src/io.js';
import { runCli } from '../src/program.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Harness {
  env?: Record<string, string | undefined>;
  tokenSource?: TokenSource;
  stopSignal?: () => Promise<string>;
}

export async function opencae(args: readonly string[], harness: Harness = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: harness.env ?? {},
    fetch: globalThis.fetch,
    ...(harness.stopSignal ? { stopSignal: harness.stopSignal } : {}),
  };
  const code = await runCli(args, {
    io,
    ...(harness.tokenSource ? { tokenSource: harness.tokenSource } : {}),
  });
  return { code, stdout, stderr };
}

/** A port free right now (the issuer URL must be known before the issuer listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
