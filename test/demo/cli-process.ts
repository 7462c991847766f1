/**
 * `opencae` as a user runs it: `node packages/cli/bin/opencae.js …` in a child process, its output
 * collected, signals sent to the wrapper exactly as a terminal or process manager would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../packages/cli/bin/opencae.js', import.meta.url));

/**
 * The environment of the test runner without the variables that would change what the CLI does (a
 * developer's shell may set any of them), nor vitest's worker settings.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'REDIS_URL',
    'PORT',
    'OPENCAE_DATA',
    'OPENCAE_ISSUER_URL',
    'OPENCAE_API_PORT',
    'OPENCAE_TRUST_PROXY',
    'OPENCAE_METRICS_TOKEN',
    'OPENCAE_SECRETS_KEY',
    'OPENCAE_ISSUER',
    'OPENCAE_CLIENT_ID',
    'OPENCAE_CLIENT_SECRET',
    'NODE_OPTIONS',
    'VITEST',
    'VITEST_POOL_ID',
    'VITEST_WORKER_ID',
  ])
    delete env[name];
  return { ...env, ...extra };
}

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the output once it contains `text` (rejects if the process exits first). */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
      wake();
    });
  });
  return {
    child,
    output: () => stdout,
    exited,
    waitFor(text, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (stdout.includes(text)) {
            done();
            resolve(stdout);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`opencae exited before printing "${text}":\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** The URL printed after `label` on its line. */
export function printedUrl(output: string, label: string): string {
  const line = output.split('\n').find((text) => text.trimStart().startsWith(label));
  const url = line && /https?:\/\/\S+/.exec(line.slice(line.indexOf(label) + label.length))?.[0];
  if (!url) throw new Error(`no "${label}" URL in:\n${output}`);
  return url;
}
