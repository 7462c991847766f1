/**
 * Docs that rot fail CI: every shell command in README.md and docs/*.md is checked here.
 *
 * - Every command is checked statically (command-checks.ts): a known program, an existing `opencae`
 *   subcommand with existing flags, an existing npm script or example file, known curl flags.
 * - Every ```sh block is then **run for real** in bash, page by page in one shell per page (a reader
 *   follows a page in one terminal), against a real `opencae start` (issuer, demo tenant, sample API)
 *   that this test runs as a child process on a temporary data folder and free ports. The docs'
 *   `http://127.0.0.1:8080` / `:8081` become that issuer's and that API's URLs; `opencae` / `npx
 *   opencae` run the CLI's `runCli` in this process (the real command, without a Node start per call).
 * - Blocks that cannot run in a test are listed in NOT_RUN with the reason; a listed block that no
 *   longer exists fails the test, so the list cannot go stale. Synopses (`<placeholders>`, `[--flags]`)
 *   and ```console transcripts are checked, not run (their commands are shown with sample output).
 * - `opencae demo --json`, which README.md shows as `npx opencae demo`, is run for real (its own issuer
 *   and API processes) alongside.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@opencae/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../demo/cli-process.js';
import { checkCommand, checkOpencaeArgs } from './command-checks.js';
import { type DocBlock, readBlocks, simpleCommands } from './shell-commands.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const BIN = join(ROOT, 'packages/cli/bin/opencae.js');
const DOC_ISSUER = 'http://127.0.0.1:8080';
const DOC_API = 'http://127.0.0.1:8081';

/** Blocks that are checked but not run, each with why. `match` is a substring of the block. */
const NOT_RUN: { file: string; match: string; reason: string }[] = [
  {
    file: 'README.md',
    match: 'npm install && npm start',
    reason:
      'long-running server: this test runs the same `opencae start` (what `npm start` runs after building the console) as a child process',
  },
  {
    file: 'README.md',
    match: 'npm install && npm test',
    reason: 'runs the whole suite, this test included; CI runs exactly this (.ci/run)',
  },
  {
    file: 'README.md',
    match: 'npx opencae demo',
    reason: 'this test runs `opencae demo --json` for real (same scenario, machine-readable output)',
  },
  {
    file: 'docs/cli.md',
    match: 'export OPENCAE_CLIENT_ID=…',
    reason: 'placeholders for credentials and a remote issuer (id.example.com)',
  },
  {
    file: 'docs/client.md',
    match: 'examples/daemon/daemon.ts',
    reason: 'long-running loop with placeholder credentials; examples/daemon/daemon.test.ts runs it',
  },
  {
    file: 'docs/console.md',
    match: 'npm run build -w packages/console',
    reason: 'writes the console package build (another package) and then starts a long-running server',
  },
  {
    file: 'docs/deploy.md',
    match: 'npx opencae start --no-demo --host 0.0.0.0',
    reason: 'long-running server on a remote PostgreSQL behind a TLS proxy',
  },
  {
    file: 'docs/deploy.md',
    match: 'curl -s https://id.example.com',
    reason: 'needs the reader’s TLS proxy and public host',
  },
  {
    file: 'docs/deploy.md',
    match: 'examples/express-api/server.ts',
    reason: 'long-running server with placeholder credentials and a remote Redis',
  },
  {
    file: 'docs/deploy.md',
    match: 'REDIS_URL=redis://127.0.0.1:6379 npm start',
    reason: 'long-running server (test/demo/start.test.ts runs start on PostgreSQL and Redis)',
  },
  {
    file: 'docs/quickstart-api.md',
    match: 'examples/express-api/server.ts',
    reason: 'long-running server with placeholder credentials; examples/express-api/app.test.ts tests it',
  },
  {
    file: 'docs/quickstart-api.md',
    match: 'http://127.0.0.1:4000/me',
    reason:
      'needs the reader’s API (previous block) running; README runs the same request against the sample API',
  },
  {
    file: 'docs/quickstart-client.md',
    match: 'examples/daemon/daemon.ts',
    reason: 'long-running loop; examples/daemon/daemon.test.ts runs it',
  },
  {
    file: 'docs/quickstart-issuer.md',
    match: 'npm install && npm start',
    reason: 'long-running server (see README.md)',
  },
  {
    file: 'docs/quickstart-issuer.md',
    match: 'npx opencae start --no-demo --data .opencae',
    reason: 'long-running server; its flags are checked',
  },
  {
    file: 'docs/security.md',
    match: 'opencae keys rotate --reason',
    reason:
      'within 5 minutes of the issuer start the next key is too recent and the rotation is refused (409); packages/cli/test/keys.test.ts runs it on an issuer of its own',
  },
];

/** What a run block must print (checked on that block's output). */
const EXPECTED_OUTPUT: { file: string; match: string; output: RegExp[] }[] = [
  {
    file: 'README.md',
    match: 'apps disable "$CID"',
    output: [
      /"aud":"api:\/\/opencae-sample"/,
      /HTTP\/1\.1 401/,
      /error="insufficient_claims"/,
      /"reason":"account_disabled"/,
    ],
  },
  {
    file: 'docs/quickstart-client.md',
    match: 'refresh_in: r.refresh_in',
    output: [/xms_cc: \[ 'cp1' \]/, /refresh_in: \d+/],
  },
  { file: 'docs/troubleshooting.md', match: 'not-a-token', output: [/"reason":"token_malformed"/] },
  { file: 'docs/troubleshooting.md', match: 'sign-ins?result=failure', output: [/"items":/] },
  { file: 'docs/interop.md', match: '/ssf/poll/$STREAM_ID', output: [/"sets":\{"[^"]+":"ey/] },
  {
    file: 'docs/quickstart-issuer.md',
    match: 'conditional-access/policies',
    output: [/"state":"reportOnly"/],
  },
];

/** A synopsis shows syntax, not a command to paste: `<placeholder>`, `[--optional]`. */
const isSynopsis = (text: string) => /<[a-z][^>]*>|\[--/.test(text);

function synopsisWords(line: string): string[] {
  return line
    .replace(/<[^>]*>/g, 'ARG')
    .replace(/[[\]…]/g, ' ')
    .split(/\s+/)
    .filter((word) => word && word !== '|');
}

async function docFiles(): Promise<string[]> {
  const pages = (await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md')).sort();
  // The operator's quick start creates what cli.md's examples act on; README last (it disables and
  // re-enables the demo daemon).
  const ordered = ['quickstart-issuer.md', ...pages.filter((name) => name !== 'quickstart-issuer.md')];
  return [...ordered.map((name) => `docs/${name}`), 'README.md'];
}

interface Child {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | string>;
}

function spawnChild(args: string[], cwd: string): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { process: child, stdout: () => out, stderr: () => err, exited };
}

async function waitForOutput(child: Child, text: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!child.stdout().includes(text)) {
    if (child.process.exitCode !== null)
      throw new Error(`exited before "${text}":\n${child.stdout()}\n${child.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`no "${text}" after ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child.stdout();
}

/** Runs `opencae <argv>` in this process for the shell's `opencae` shim. */
function cliServer(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', async () => {
      const { argv, env, cwd } = JSON.parse(body) as {
        argv: string[];
        env: Record<string, string>;
        cwd: string;
      };
      let stdout = '';
      let stderr = '';
      let code: number;
      if (argv[0] === 'start' || argv[0] === 'demo') {
        stderr = `docs test: "opencae ${argv[0]}" runs as a child process, not through the shim\n`;
        code = 2;
      } else {
        const previous = process.cwd();
        process.chdir(cwd);
        try {
          code = await runCli(argv, {
            io: {
              stdout: (t) => (stdout += t),
              stderr: (t) => (stderr += t),
              env,
              fetch: globalThis.fetch,
              isTTY: false,
            },
          });
        } finally {
          process.chdir(previous);
        }
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code, stdout, stderr }));
    });
  });
}

const SHIM = `import { cwd, env, argv, exit, stdout, stderr } from 'node:process';
const pick = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OPENCAE_')));
const res = await fetch(env.DOCS_CLI_URL, { method: 'POST', body: JSON.stringify({ argv: argv.slice(2), env: pick, cwd: cwd() }) });
const { code, stdout: out, stderr: err } = await res.json();
stdout.write(out); stderr.write(err); exit(code);
`;

function runBash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('every command in README.md and docs/*.md', async () => {
  const files = await docFiles();
  const blocks = readBlocks(ROOT, files);
  const notRunOf = (block: DocBlock) =>
    NOT_RUN.find((entry) => entry.file === block.file && block.text.includes(entry.match));
  const runnable = (block: DocBlock) => block.lang === 'sh' && !isSynopsis(block.text) && !notRunOf(block);

  it('finds the documented commands', () => {
    expect(blocks.filter(runnable).length).toBeGreaterThan(10);
    for (const file of [
      'README.md',
      'docs/quickstart-issuer.md',
      'docs/troubleshooting.md',
      'docs/interop.md',
    ])
      expect(
        blocks.some((block) => block.file === file && runnable(block)),
        file,
      ).toBe(true);
  });

  it('knows every command and flag (static check of all blocks)', () => {
    const problems: string[] = [];
    for (const block of blocks) {
      const where = `${block.file}:${block.line}`;
      if (isSynopsis(block.text)) {
        // A synopsis continues on indented lines (or after a trailing backslash).
        for (const line of block.text.replace(/\\?\n\s+/g, ' ').split('\n')) {
          const words = synopsisWords(line.replace(/#.*$/, ''));
          if (words.length === 0) continue;
          const args = words[0] === 'npx' ? words.slice(1) : words;
          if (args[0] !== 'opencae')
            problems.push(`${where}: a synopsis must be an opencae command: ${line}`);
          else problems.push(...checkOpencaeArgs(args.slice(1)).map((p) => `${where}: ${p}`));
        }
        continue;
      }
      for (const command of simpleCommands(block.text))
        problems.push(
          ...checkCommand(ROOT, command).map((p) => `${where}: ${p} (in: ${command.words.join(' ')})`),
        );
    }
    expect(problems).toEqual([]);
  });

  it('rejects what the docs must not contain (the checker itself)', () => {
    expect(checkOpencaeArgs(['users', 'disable', 'alice', '--reasons', 'x'])).not.toEqual([]);
    expect(checkOpencaeArgs(['user', 'disable', 'alice'])).not.toEqual([]);
    expect(checkOpencaeArgs(['start', '--trust-everyone'])).not.toEqual([]);
    expect(checkOpencaeArgs(['start', '--trust-proxy', '10.0.0.1'])).toEqual([]);
    expect(checkOpencaeArgs(['users', 'disable', 'alice', '--reason', 'x'])).toEqual([]);
    const one = (script: string) => simpleCommands(script).flatMap((command) => checkCommand(ROOT, command));
    expect(one('opencae-admin users list')).not.toEqual([]);
    expect(one('npm run no-such-script')).not.toEqual([]);
    expect(one('npx tsx --conditions=opencae-source examples/nope.ts')).not.toEqual([]);
    expect(one('curl --insecure https://x.example')).not.toEqual([]);
    expect(one('X=$(npx opencae apps list --jsn)')).not.toEqual([]);
    expect(one('curl -s http://h/x -d \'a=1\' | node -p "1"')).toEqual([]);
  });

  it('lists only blocks that exist', () => {
    const stale = NOT_RUN.filter(
      (entry) => !blocks.some((block) => block.file === entry.file && block.text.includes(entry.match)),
    );
    const staleExpectations = EXPECTED_OUTPUT.filter(
      (entry) =>
        !blocks.some(
          (block) => block.file === entry.file && block.text.includes(entry.match) && runnable(block),
        ),
    );
    expect(stale).toEqual([]);
    expect(staleExpectations).toEqual([]);
    expect(NOT_RUN.every((entry) => entry.reason.length > 20)).toBe(true);
  });

  describe('run for real against `opencae start` on a temporary data folder', () => {
    let folder: string;
    let stack: Child;
    let demo: Child;
    let server: Server;
    let banner = '';
    let issuer = '';
    let api = '';

    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'opencae-docs-'));
      await mkdir(join(folder, 'bin'));
      // Both at once: the demo brings up its own issuer and API on another temporary folder.
      demo = spawnChild(['demo', '--json'], folder);
      stack = spawnChild(['start', '--port', '0', '--data', join(folder, '.opencae')], folder);
      server = cliServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const shim = join(folder, 'bin', 'opencae-shim.mjs');
      await writeFile(shim, SHIM);
      await chmod(shim, 0o755);
      banner = await waitForOutput(stack, 'Press Ctrl-C to stop.', 120_000);
      issuer = /OpenCAE issuer listening on (\S+)/.exec(banner)![1]!;
      api = /sample API:\s+(\S+)\/me/.exec(banner)![1]!;
    }, 150_000);

    afterAll(async () => {
      for (const child of [stack, demo])
        if (child && child.process.exitCode === null) child.process.kill('SIGTERM');
      await Promise.all([stack?.exited, demo?.exited]);
      await new Promise((resolve) => server?.close(resolve));
      if (folder) await rm(folder, { recursive: true, force: true });
    }, 60_000);

    it('prints what README.md says `npm start` prints', () => {
      const readme = readBlocksText('README.md');
      const shown = /```text\n(OpenCAE issuer listening on[\s\S]*?)```/.exec(readme)?.[1] ?? '';
      const labels = [...shown.matchAll(/^ {2}([a-zA-Z ]+):\s/gm)].map((match) => match[1]!);
      expect(labels.length).toBeGreaterThan(5);
      for (const label of labels) expect(banner).toContain(`  ${label}:`);
      expect(banner).toContain('Demo tenant');
      const start = JSON.parse(readBlocksText('package.json')) as { scripts: Record<string, string> };
      expect(start.scripts.start).toContain('packages/cli/bin/opencae.js start');
    });

    for (const file of files) {
      const pageBlocks = blocks.filter((block) => block.file === file && runnable(block));
      if (pageBlocks.length === 0) continue;
      it(`runs the commands of ${file}`, async () => {
        const marker = (index: number) => `@@docs-block-${index}@@`;
        const script = [
          'set -eo pipefail',
          `npx() { if [ "$1" = opencae ]; then shift; node "$DOCS_CLI_SHIM" "$@"; else echo "docs test: npx $1 is not available" >&2; return 127; fi; }`,
          'opencae() { node "$DOCS_CLI_SHIM" "$@"; }',
          ...pageBlocks.flatMap((block, index) => [
            `echo '${marker(index)}'; echo '${marker(index)}' >&2`,
            block.text.replaceAll(DOC_ISSUER, issuer).replaceAll(DOC_API, api),
          ]),
          `echo '${marker(pageBlocks.length)}'`,
        ].join('\n');
        const result = await runBash(script, folder, {
          ...cleanEnv(),
          OPENCAE_DATA: join(folder, '.opencae'),
          DOCS_CLI_SHIM: join(folder, 'bin', 'opencae-shim.mjs'),
          DOCS_CLI_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        });
        const outputs = result.stdout.split(/@@docs-block-\d+@@\n/).slice(1);
        const errors = result.stderr.split(/@@docs-block-\d+@@\n/).slice(1);
        const failed = Math.max(0, outputs.length - 1);
        expect(
          result.code,
          `${file}: block at line ${pageBlocks[Math.min(failed, pageBlocks.length - 1)]!.line} failed (exit ${result.code}):\n${outputs.at(-1)}\n${errors.at(-1)}`,
        ).toBe(0);
        for (const expectation of EXPECTED_OUTPUT.filter((entry) => entry.file === file)) {
          const index = pageBlocks.findIndex((block) => block.text.includes(expectation.match));
          for (const pattern of expectation.output)
            expect(outputs[index], `${file}:${pageBlocks[index]!.line} should print ${pattern}`).toMatch(
              pattern,
            );
        }
      }, 60_000);
    }

    it('runs `opencae demo --json`: every step as expected', async () => {
      const code = await demo.exited;
      expect(code, demo.stderr()).toBe(0);
      const report = JSON.parse(demo.stdout()) as {
        steps: { name: string; passed: boolean }[];
        totals: { failed: number };
      };
      expect(report.steps.length).toBeGreaterThan(3);
      expect(report.totals.failed).toBe(0);
    }, 120_000);
  });
});

function readBlocksText(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}
