/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** HTTP client (global fetch by default). */
  fetch: typeof fetch;
  /** Resolves when `start` must shut down; by default the first SIGINT or SIGTERM. */
  stopSignal?: () => Promise<string>;
  /** Told when `start` is up (URLs); a parent process (`opencae demo`) listens over IPC. */
  ready?: (info: Record<string, unknown>) => void;
  /** Whether stdout is a terminal (progress display). */
  isTTY?: boolean;
}

/** Set by a parent that forks `opencae start` with an IPC channel and wants its ready message. */
export const READY_IPC_ENV = 'OPENCAE_READY_IPC';

export function processIo(): CliIo {
  const ipc = process.env[READY_IPC_ENV] === '1' && typeof process.send === 'function';
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    fetch: globalThis.fetch,
    isTTY: process.stdout.isTTY === true,
    ...(ipc ? { ready: (info) => process.send?.({ type: 'ready', ...info }) } : {}),
  };
}
