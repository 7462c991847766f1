/** The `opencae` command line: builds the commander program and runs it with exit codes. */
import { Command, CommanderError } from 'commander';
import type { CliDependencies } from './commands/admin-command.js';
import { apisCommand } from './commands/apis.js';
import { appsCommand } from './commands/apps.js';
import { auditCommand } from './commands/audit.js';
import { demoCommand } from './commands/demo.js';
import { keysCommand } from './commands/keys.js';
import { startCommand } from './commands/start.js';
import { usersCommand } from './commands/users.js';
import { AdminApiError, CliError } from './errors.js';
import { processIo } from './io.js';
import { escapeControl } from './output.js';

export function buildProgram(deps: CliDependencies): Command {
  const program = new Command('opencae')
    .description('OpenCAE: Continuous Access Evaluation on open standards')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.io.stdout(text),
      writeErr: (text) => deps.io.stderr(text),
    });
  startCommand(program, deps);
  demoCommand(program, deps);
  apisCommand(program, deps);
  appsCommand(program, deps);
  usersCommand(program, deps);
  auditCommand(program, deps);
  keysCommand(program, deps);
  // Subcommands inherit the overrides, so usage errors come back here instead of exiting.
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => deps.io.stdout(text),
      writeErr: (text) => deps.io.stderr(text),
    });
    for (const leaf of command.commands)
      leaf.exitOverride().configureOutput({
        writeOut: (text) => deps.io.stdout(text),
        writeErr: (text) => deps.io.stderr(text),
      });
  }
  return program;
}

/** Runs the CLI; resolves to the exit code (0 success, 1 failure, 2 usage). */
export async function runCli(argv: readonly string[], deps: Partial<CliDependencies> = {}): Promise<number> {
  const full: CliDependencies = {
    io: deps.io ?? processIo(),
    ...(deps.tokenSource ? { tokenSource: deps.tokenSource } : {}),
  };
  const program = buildProgram(full);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return 0;
      // commander already printed the message and the help hint.
      return 2;
    }
    const message =
      error instanceof CliError
        ? error.message
        : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
    full.io.stderr(`error: ${escapeControl(message)}\n`);
    if (error instanceof AdminApiError && error.status === 401)
      full.io.stderr(
        'hint: the admin credentials were refused; check admin.json or OPENCAE_CLIENT_ID/SECRET\n',
      );
    return error instanceof CliError ? error.exitCode : 1;
  }
}
