#!/usr/bin/env node
// Runs the TypeScript sources through tsx inside the repository, the built files once published.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'src', 'main.ts');
if (existsSync(source)) {
  // tsx as a loader, not its CLI: the CLI SIGKILLs a child that is slow to acknowledge a signal.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsx, '--conditions=opencae-source', source, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  // A process manager signals this wrapper only: pass SIGTERM / SIGINT on so the issuer closes cleanly.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await import(join(here, '..', 'dist', 'main.js'));
}
