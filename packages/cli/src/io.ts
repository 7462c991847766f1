/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** HTTP client (global fetch by default). */
  fetch: typeof fetch;
  /** Resolves when `start` must shut down; by default the first SIGINT or SIGTERM. */
  stopSignal?: () => Promise<string>;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    fetch: globalThis.fetch,
  };
}
