/**
 * `opencae demo`: the narrated CAE scenario on a fresh temporary data folder. The issuer and the sample
 * API run as child processes; this process acts as the administrator (admin API), the clients (client
 * SDK, sign-in page) and the attacker, over HTTP only. The folder is removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AdminClient } from '../admin-client.js';
import { resolveConnection } from '../connection.js';
import { lineNarrator, silentNarrator, terminalNarrator } from '../demo/narrators.js';
import { type Narrator, runScenario, STEPS } from '../demo/scenario.js';
import { type StackProcess, startStackProcess } from '../demo/stack-process.js';
import { type StepResult, totals } from '../demo/steps.js';
import { type DemoTenant, readDemoFile } from '../demo-tenant/demo-file.js';
import { CliError } from '../errors.js';
import { processStopSignal } from '../io.js';
import { printJson } from '../output.js';
import type { CliDependencies } from './admin-command.js';

interface DemoOptions {
  json?: boolean;
  keep?: boolean;
}

export function demoCommand(program: Command, deps: CliDependencies): void {
  program
    .command('demo')
    .description(
      'run the CAE scenario on a fresh temporary issuer and sample API: secret reset, user disabled, stolen token replayed from 127.0.0.2, risk high, guest revoked; prints the milliseconds from each admin action to enforcement (exit code 1 if a step does not end as expected)',
    )
    .option(
      '--json',
      'print one JSON document {steps:[{name, outcome, ms, details}], totals} and nothing else',
    )
    .option('--keep', 'keep the temporary data folder (its path is printed)')
    .action((options: DemoOptions) => runDemo(deps, options));
}

export async function runDemo(deps: CliDependencies, options: DemoOptions): Promise<void> {
  const { io } = deps;
  const began = performance.now();
  const display: Narrator & {
    say?(text: string): void;
    wait?(title: string): () => void;
    close?(): void;
  } = options.json ? silentNarrator() : io.isTTY ? terminalNarrator(io) : lineNarrator(io);
  let quiet = false;
  // After an interrupt the abandoned scenario may still fail a request or two: say nothing of it.
  const narrator: typeof display = {
    begin: (title) => quiet || display.begin(title),
    note: (text) => quiet || display.note(text),
    end: (result) => quiet || display.end(result),
    say: (text) => quiet || display.say?.(text),
    close: () => display.close?.(),
  };
  const say = (text: string) => narrator.say?.(text);
  const dataDir = await mkdtemp(join(tmpdir(), 'opencae-demo-'));
  let stack: StackProcess | undefined;
  // Ctrl-C: stop the child processes and remove the folder before leaving.
  const listening = new AbortController();
  const interrupted = (io.stopSignal ?? processStopSignal)(listening.signal).then((signal) => {
    quiet = true;
    throw new CliError(`${signal}: demo stopped`, { exitCode: 130, code: 'ERR_CLI_INTERRUPTED' });
  });
  interrupted.catch(() => {});
  let results: StepResult[] = [];
  let startupMs = 0;
  try {
    say(`OpenCAE demo: ${STEPS.length} steps on a fresh issuer (data folder ${dataDir})`);
    say(
      'Starting the issuer and the sample API (separate processes; the first start of a data folder takes a few seconds)...',
    );
    const starting = startStackProcess(dataDir, io.env);
    // Started after an interrupt: stop it too.
    starting.then(
      (started) => {
        stack = started;
      },
      () => {},
    );
    const waited = display.wait?.('starting');
    stack = await Promise.race([starting, interrupted]).finally(() => waited?.());
    startupMs = performance.now() - began;
    say(
      `  issuer ${stack.issuer}   sample API ${stack.api}/me   ready in ${(startupMs / 1000).toFixed(1)} s`,
    );
    const tenant = (await readDemoFile(dataDir)) as DemoTenant;
    if (!tenant.daemon || !tenant.member) throw new CliError(`the demo tenant was not seeded in ${dataDir}`);
    const connection = await resolveConnection({ data: dataDir, issuer: stack.issuer }, {});
    results = await Promise.race([
      runScenario({
        issuer: stack.issuer,
        api: stack.api,
        admin: new AdminClient(connection, io.fetch, deps.tokenSource),
        tenant,
        narrator,
      }),
      interrupted,
    ]);
  } finally {
    narrator.close?.();
    await stack?.stop();
    if (options.keep) say(`data folder kept: ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
    // Only now: a Ctrl-C during the cleanup must not kill the process before the folder is gone.
    listening.abort();
  }
  const summary = totals(results, startupMs, performance.now() - began);
  if (options.json) printJson(io, { steps: results, totals: summary });
  else {
    const spread = summary.enforcementMs
      ? `; admin action → enforcement: median ${summary.enforcementMs.median} ms (min ${summary.enforcementMs.min}, max ${summary.enforcementMs.max})`
      : '';
    say('');
    say(
      `${summary.passed}/${summary.steps} steps as expected${summary.notAvailable ? `, ${summary.notAvailable} not available here` : ''}${spread}. Entra documents "up to 15 minutes".`,
    );
  }
  if (summary.failed > 0) throw new CliError(`${summary.failed} step(s) did not end as expected`);
}
