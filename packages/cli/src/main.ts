#!/usr/bin/env node
/** Entry point of `opencae` (bin/opencae.js runs it through tsx inside the repository). */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
