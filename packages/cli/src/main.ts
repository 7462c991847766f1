#!/usr/bin/env node
/** Entry point of `opencae` (bin/opencae.js runs it through tsx inside the repository). */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// Interrupted (Ctrl-C): requests still in flight must not hold the exit.
if (code === 130) process.exit(code);
process.exitCode = code;
