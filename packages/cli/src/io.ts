/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** HTTP client (global fetch by default). */
  fetch: typeof fetch;
  /**
   * Resolves when `start` must shut down or `demo` must stop early; by default the first SIGINT or
   * SIGTERM (or the IPC channel closing). `until` aborted: stop listening.
   */
  stopSignal?: (until?: AbortSignal) => Promise<string>;
  /** Told when `start` is up (URLs); a parent process (`opencae demo`) listens over IPC. */
  ready?: (info: Record<string, unknown>) => void;
  /** Whether stdout is a terminal (progress display). */
  isTTY?: boolean;
}

/** Set by a parent that forks `opencae start` with an IPC channel and wants its ready message. */
export const READY_IPC_ENV = 'OPENCAE_READY_IPC';

export function processIo(): CliIo {
  const ipc = process.env[READY_IPC_ENV] === '1' && typeof process.send === 'function';
  let ready = false;
  // The parent gave up while we were still starting: nobody will ever stop us, so leave now.
  if (ipc) process.once('disconnect', () => !ready && process.exit(1));
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    fetch: globalThis.fetch,
    isTTY: process.stdout.isTTY === true,
    ...(ipc
      ? {
          ready: (info) => {
            ready = true;
            if (process.connected) process.send?.({ type: 'ready', ...info });
          },
        }
      : {}),
  };
}

/** The first SIGINT / SIGTERM, or the IPC parent going away; listeners are removed when `until` aborts. */
export function processStopSignal(until?: AbortSignal): Promise<string> {
  return new Promise((resolveSignal) => {
    const cleanup = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('disconnect', onDisconnect);
      until?.removeEventListener('abort', cleanup);
    };
    const stop = (signal: string) => {
      cleanup();
      // The same Ctrl-C arrives twice (from the terminal and from bin/opencae.js, which forwards it):
      // ignore repeats for a moment, then a further signal forces the exit while shutdown runs.
      const stoppedAt = Date.now();
      const repeat = () => {
        if (Date.now() - stoppedAt > 2000) process.exit(130);
      };
      process.on('SIGINT', repeat);
      process.on('SIGTERM', repeat);
      resolveSignal(signal);
    };
    // A parent that forked us with IPC (opencae demo) and went away.
    const onDisconnect = () => stop('disconnect');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (process.connected) process.on('disconnect', onDisconnect);
    until?.addEventListener('abort', cleanup, { once: true });
  });
}
