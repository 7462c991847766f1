/**
 * Static checks of a documented command: the program is one the docs may use, and its subcommand,
 * flags and files exist. `opencae` commands are checked against the CLI's own commander definition,
 * npm scripts against package.json, `npx tsx` against the file system.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '@opencae/cli';
import type { SimpleCommand } from './shell-commands.js';

/** commander's types, through the CLI (commander is the CLI package's dependency, not the root's). */
type Command = ReturnType<typeof buildProgram>;
type Option = Command['options'][number];

const silentIo = {
  stdout: () => {},
  stderr: () => {},
  env: {},
  fetch: globalThis.fetch,
};

function findOption(command: Command, flag: string): Option | undefined {
  if (flag === '--help' || flag === '-h') return undefined;
  return command.options.find((option) => option.long === flag || option.short === flag);
}

/** Problems with an `opencae …` argument list (empty when the CLI accepts it). */
export function checkOpencaeArgs(args: readonly string[]): string[] {
  let command: Command = buildProgram({ io: silentIo });
  let i = 0;
  // Walk down the subcommands (`apps`, then `create`).
  while (i < args.length && !args[i]!.startsWith('-') && command.commands.length > 0) {
    const name = args[i]!;
    const sub = command.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!sub) return [`unknown command "opencae ${args.slice(0, i + 1).join(' ')}"`];
    command = sub;
    i++;
  }
  const problems: string[] = [];
  let positionals = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('-') && arg !== '-') {
      const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
      if (flag === '--help' || flag === '-h' || (flag === '--version' && command.parent === null)) continue;
      const option = findOption(command, flag);
      if (!option) {
        problems.push(`"opencae ${command.name()}" has no option ${flag}`);
        continue;
      }
      const takesValue = option.required || option.optional;
      if (takesValue && inline === undefined) {
        if (option.required && i + 1 >= args.length) problems.push(`${flag} needs a value`);
        else i++;
      }
    } else positionals++;
  }
  if (command.commands.length > 0 && positionals > 0)
    problems.push(`"opencae ${command.name()}" needs a subcommand`);
  const declared = command.registeredArguments;
  const variadic = declared.some((argument) => argument.variadic);
  if (!variadic && positionals > declared.length)
    problems.push(
      `"opencae ${command.name()}" takes ${declared.length} argument(s), the doc gives ${positionals}`,
    );
  return problems;
}

interface PackageJson {
  scripts?: Record<string, string>;
  workspaces?: string[];
  name?: string;
}

function readPackage(path: string): PackageJson {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
}

function checkNpm(root: string, args: readonly string[]): string[] {
  const [verb, ...rest] = args;
  const rootPackage = readPackage(join(root, 'package.json'));
  if (verb === 'install' || verb === 'ci') return rest.length === 0 ? [] : [`npm ${verb} with arguments`];
  if (verb === 'start' || verb === 'test')
    return rootPackage.scripts?.[verb] ? [] : [`package.json has no "${verb}" script`];
  if (verb !== 'run') return [`npm ${verb} is not a command the docs may use`];
  let workspace: string | undefined;
  let script: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') break;
    if (arg === '-w' || arg === '--workspace') workspace = rest[++i];
    else if (arg === '--silent') continue;
    else if (!script) script = arg;
    else return [`npm run: unexpected argument ${arg}`];
  }
  if (!script) return ['npm run without a script'];
  const manifest = workspace ? join(root, workspace, 'package.json') : join(root, 'package.json');
  if (!existsSync(manifest)) return [`no workspace ${workspace}`];
  return readPackage(manifest).scripts?.[script] ? [] : [`${manifest} has no "${script}" script`];
}

const CURL_FLAGS_WITH_VALUE = new Set(['-u', '-d', '-H', '-X', '--data-urlencode', '-o', '-w']);
const CURL_FLAGS = new Set(['-s', '-i', '-si', '-sS', '-S', '-f']);

function checkCurl(args: readonly string[]): string[] {
  const problems: string[] = [];
  let urls = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (CURL_FLAGS_WITH_VALUE.has(arg)) i++;
    else if (CURL_FLAGS.has(arg)) continue;
    else if (arg.startsWith('-')) problems.push(`curl ${arg} is not a flag the docs test knows`);
    else if (/^https?:\/\//.test(arg)) urls++;
    else problems.push(`curl: unexpected argument ${arg}`);
  }
  if (urls !== 1) problems.push(`curl needs exactly one URL, got ${urls}`);
  return problems;
}

/** Problems with one documented command; `[]` when it is known and well formed. */
export function checkCommand(root: string, command: SimpleCommand): string[] {
  const [program, ...args] = command.words;
  if (program === undefined) return []; // assignments only: `TOKEN=$(…)`
  switch (program) {
    case 'opencae':
      return checkOpencaeArgs(args);
    case 'npx':
      if (args[0] === 'opencae') return checkOpencaeArgs(args.slice(1));
      if (args[0] === 'tsx') {
        const [, conditions, file, ...extra] = args;
        if (conditions !== '--conditions=opencae-source')
          return ['npx tsx without --conditions=opencae-source'];
        if (!file || !existsSync(join(root, file))) return [`npx tsx: no file ${file}`];
        return extra.length > 0 ? [`npx tsx ${file}: unexpected arguments`] : [];
      }
      return [`npx ${args[0]} is not a command the docs may use`];
    case 'npm':
      return checkNpm(root, args);
    case 'curl':
      return checkCurl(args);
    case 'node':
      return (args[0] === '-p' || args[0] === '-e') && args.length === 2
        ? []
        : ['node: use -p or -e with one script'];
    case 'export':
      return args.every((arg) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) ? [] : ['export: NAME=value only'];
    case 'echo':
      return [];
    case 'base64':
      return args.length === 1 && args[0] === '-d' ? [] : ['base64: only -d'];
    case 'rm':
      return args.length === 1 && !args[0]!.startsWith('-') && !args[0]!.includes('/')
        ? []
        : ['rm: one file of the current folder only'];
    default:
      return [`unknown command "${program}"`];
  }
}
