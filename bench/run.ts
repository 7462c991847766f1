/**
 * `npm run bench [-- --quick] [-- --only <name>] [-- --no-record]`
 *
 * Discovers bench/*.bench.ts, runs them one after another, prints a table, and (unless
 * --no-record) writes bench/results/latest.json and regenerates bench/RESULTS.md.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Benchmark, machineInfo } from './harness.js';
import {
  type BenchmarkRecord,
  consoleTable,
  mergeResults,
  type ResultsFile,
  resultsMarkdown,
} from './report.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(benchDir, 'results', 'latest.json');
const markdownPath = join(benchDir, 'RESULTS.md');

function isBenchmark(value: unknown): value is Benchmark {
  const b = value as Benchmark | undefined;
  return typeof b?.name === 'string' && typeof b.description === 'string' && typeof b.run === 'function';
}

async function discover(): Promise<Benchmark[]> {
  const files = (await readdir(benchDir)).filter((f) => f.endsWith('.bench.ts')).sort();
  const benchmarks: Benchmark[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { default?: unknown };
    if (!isBenchmark(module.default))
      throw new Error(`${file} must export default { name, description, run }`);
    benchmarks.push(module.default);
  }
  return benchmarks;
}

async function readPrevious(): Promise<ResultsFile | undefined> {
  try {
    return JSON.parse(await readFile(resultsPath, 'utf8')) as ResultsFile;
  } catch {
    return undefined;
  }
}

/** Write-then-rename, so an interrupted run never leaves a truncated file. */
async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = path.endsWith('.json') ? path.replace(/\.json$/, '.tmp.json') : `${path}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      'no-record': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const quick = values.quick ?? false;
  const record = !values['no-record'];
  let benchmarks = await discover();
  if (values.only?.length) {
    const wanted = new Set(values.only);
    benchmarks = benchmarks.filter((b) => wanted.has(b.name));
    const missing = [...wanted].filter((name) => !benchmarks.some((b) => b.name === name));
    if (missing.length > 0) {
      console.error(`unknown benchmark(s): ${missing.join(', ')}`);
      return 2;
    }
  }

  const started = performance.now();
  const records: BenchmarkRecord[] = [];
  let failed = 0;
  for (const benchmark of benchmarks) {
    console.log(`▶ ${benchmark.name}${quick ? ' (quick)' : ''}: ${benchmark.description}`);
    const benchStart = performance.now();
    try {
      const measurements = await benchmark.run({ quick });
      records.push({
        name: benchmark.name,
        description: benchmark.description,
        date: new Date().toISOString(),
        quick,
        machine: machineInfo(),
        measurements,
      });
      console.log(`  done in ${((performance.now() - benchStart) / 1000).toFixed(1)} s`);
    } catch (error) {
      failed++;
      console.error(`  ✗ ${benchmark.name} failed:`, error);
    }
  }
  console.log(`\n${consoleTable(records)}\n`);
  console.log(`${benchmarks.length} benchmark(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  if (record && records.length > 0) {
    const results = mergeResults(await readPrevious(), records, new Date().toISOString());
    await writeAtomically(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    await writeAtomically(markdownPath, resultsMarkdown(results));
    console.log(`recorded in ${resultsPath} and ${markdownPath}`);
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
