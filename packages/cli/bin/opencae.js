#!/usr/bin/env node
// Runs the TypeScript sources through tsx inside the repository, the built files once published.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'src', 'main.ts');
if (existsSync(source)) {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const result = spawnSync(
    process.execPath,
    [tsx, '--conditions=opencae-source', source, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(result.status ?? 1);
} else {
  await import(join(here, '..', 'dist', 'main.js'));
}
