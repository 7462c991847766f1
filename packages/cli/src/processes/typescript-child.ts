/**
 * Child processes of the CLI: Node with tsx as a loader and the opencae-source condition, so the
 * TypeScript sources of the repository run as they are. Each child has an IPC channel; it reports
 * `{ type: 'ready', ... }` or `{ type: 'failed', message }`, and exits when the channel closes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CliError } from '../errors.js';

export function typescriptExecArgv(): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return ['--import', tsx, '--conditions=opencae-source'];
}

export interface ReadyMessage {
  type: 'ready';
  [field: string]: unknown;
}

export interface TypescriptChild<T extends ReadyMessage> {
  process: ChildProcess;
  ready: T;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited. */
  stop(graceMs?: number): Promise<void>;
}

export async function forkTypescript<T extends ReadyMessage>(
  entry: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; what: string; timeoutMs?: number; silent?: boolean },
): Promise<TypescriptChild<T>> {
  const child = fork(entry, [...args], {
    execArgv: typescriptExecArgv(),
    env: options.env,
    stdio: options.silent ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'],
    // Its own process group: a Ctrl-C at the terminal reaches only the parent, which stops its children
    // in order. Should the parent die without stopping them, the IPC channel closes and they exit.
    detached: true,
  });
  let output = '';
  if (options.silent) {
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`${options.what} did not start within ${(options.timeoutMs ?? 120_000) / 1000} s`),
      options.timeoutMs ?? 120_000,
    );
    const fail = (message: string) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      const tail = output.trim() ? `\n${output.trim()}` : '';
      reject(new CliError(`${message}${tail}`));
    };
    const onMessage = (message: unknown) => {
      const typed = message as { type?: unknown; message?: unknown };
      if (typed?.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      } else if (typed?.type === 'failed') fail(`${options.what} failed to start: ${String(typed.message)}`);
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`${options.what} exited before it was ready (${signal ?? `exit code ${code}`})`);
    child.on('message', onMessage);
    child.once('exit', onExit);
  }).catch(async (error: unknown) => {
    await stop(2000);
    throw error;
  });
  return { process: child, ready, stop };
}
