/**
 * Benchmark harness: shared types and measuring helpers for bench/*.bench.ts.
 *
 * The machines this runs on are shared and noisy, so absolute numbers drift between runs; what a
 * benchmark reports as meaningful is the ratio between peers measured side by side in one run.
 * `measureOpsPerSecond` therefore interleaves its candidates round by round.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export interface BenchContext {
  /** Quick mode: the whole run (all benchmarks) must stay under 2 minutes. For CI smoke runs. */
  quick: boolean;
}

export interface Measurement {
  name: string;
  metric: string;
  value: number;
  unit: string;
  /** Other measurements of the same run this one is compared with: name → value. */
  peers?: Record<string, number>;
  /** How it was measured, in a sentence. */
  method: string;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Measurement[]>;
}

export interface MeasureOptions {
  /** Measuring time per candidate, summed over all rounds. */
  durationMs: number;
  /** Unmeasured time per candidate before the first round (JIT, caches). */
  warmupMs: number;
  /** Called once every candidate is warmed up, before the first measured round (to reset counters). */
  onMeasureStart?: () => void;
  /** Rounds; in each round every candidate runs for durationMs / rounds, in rotating order. */
  rounds: number;
  /**
   * Work a candidate defers past its calls (a batched write), by candidate name: awaited at the end of
   * each of its slices and counted in the slice's time, so it is charged to the candidate that caused
   * it rather than to whichever runs next.
   */
  settle?: Record<string, () => Promise<void>>;
}

export interface OpsResult {
  /** Median of the per-round rates, operations per second. */
  median: number;
  /** Per-round rates, operations per second. */
  samples: number[];
}

type Operation = () => unknown;

/**
 * Operations per second of `fn` (sync or async). Given a record of functions, measures them
 * interleaved — round 1 runs a, b, c; round 2 runs b, c, a; … — so that load changes on the machine
 * hit every candidate alike, and returns one result per name.
 */
export async function measureOpsPerSecond(fn: Operation, options: MeasureOptions): Promise<OpsResult>;
export async function measureOpsPerSecond<K extends string>(
  fns: Record<K, Operation>,
  options: MeasureOptions,
): Promise<Record<K, OpsResult>>;
export async function measureOpsPerSecond(
  fnOrFns: Operation | Record<string, Operation>,
  options: MeasureOptions,
): Promise<OpsResult | Record<string, OpsResult>> {
  if (!(options.rounds >= 1) || !(options.durationMs > 0) || !(options.warmupMs >= 0)) {
    throw new RangeError('measureOpsPerSecond needs rounds >= 1, durationMs > 0 and warmupMs >= 0');
  }
  const single = typeof fnOrFns === 'function';
  const fns: Record<string, Operation> = single ? { only: fnOrFns } : fnOrFns;
  const names = Object.keys(fns);
  const runners = new Map<string, Runner>();
  for (const name of names) runners.set(name, await Runner.create(fns[name]!));

  for (const name of names) await runners.get(name)!.run(options.warmupMs);
  options.onMeasureStart?.();
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  const slice = options.durationMs / options.rounds;
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      samples.get(name)!.push(await runners.get(name)!.run(slice, options.settle?.[name]));
    }
  }
  const results: Record<string, OpsResult> = {};
  for (const name of names) {
    const values = samples.get(name)!;
    results[name] = { median: median(values), samples: values };
  }
  return single ? results.only! : results;
}

/** Runs one operation in timed batches; the batch size keeps clock reads out of the measurement. */
class Runner {
  private batch = 1;

  private constructor(
    private readonly fn: Operation,
    private readonly isAsync: boolean,
  ) {}

  static async create(fn: Operation): Promise<Runner> {
    const first = fn();
    const isAsync = typeof (first as Promise<unknown> | undefined)?.then === 'function';
    if (isAsync) await first;
    return new Runner(fn, isAsync);
  }

  /** Runs for about `ms` milliseconds (then `settle`, timed too) and returns the rate in operations per second. */
  async run(ms: number, settle?: () => Promise<void>): Promise<number> {
    const start = performance.now();
    const end = start + ms;
    let ops = 0;
    let now = start;
    while (now < end) {
      const batchStart = now;
      if (this.isAsync) {
        for (let i = 0; i < this.batch; i++) await this.fn();
      } else {
        for (let i = 0; i < this.batch; i++) this.fn();
      }
      ops += this.batch;
      now = performance.now();
      // Aim for batches of about 1 ms.
      const took = now - batchStart;
      if (took < 0.5 && this.batch < 1 << 20) this.batch *= 2;
      else if (took > 2 && this.batch > 1) this.batch = Math.max(1, Math.floor(this.batch / 2));
    }
    if (settle) {
      await settle();
      now = performance.now();
    }
    return ops / ((now - start) / 1000);
  }
}

function median(values: number[]): number {
  return percentiles(values, [50])[50]!;
}

/** Nearest-rank percentiles: `percentiles([...], [50, 99])` → `{ 50: …, 99: … }`. NaN for no values. */
export function percentiles(values: readonly number[], ps: readonly number[]): Record<number, number> {
  const sorted = [...values].sort((a, b) => a - b);
  const out: Record<number, number> = {};
  for (const p of ps) {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0..100`);
    if (sorted.length === 0) {
      out[p] = Number.NaN;
      continue;
    }
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    out[p] = sorted[rank - 1]!;
  }
  return out;
}

/**
 * A distribution-free confidence interval for the median of `values` (order statistics: with B the
 * number of samples below the true median, B ~ Binomial(n, 1/2), [x(r), x(n+1-r)] covers it with
 * probability 1 - 2·P(B ≤ r-1)). Undefined when there are too few values for that confidence.
 */
export function medianInterval(
  values: readonly number[],
  confidence = 0.95,
): { low: number; high: number; coverage: number } | undefined {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError('confidence must be between 0 and 1');
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const tail = (1 - confidence) / 2;
  // P(B = k) built up iteratively in log space (n may be large enough for 2^-n to underflow).
  let logPmf = -n * Math.LN2;
  let below = 0; // P(B ≤ r-1) for the current r
  let r = 0;
  for (let k = 0; k < Math.floor(n / 2); k++) {
    const next = below + Math.exp(logPmf);
    if (next > tail) break;
    below = next;
    r = k + 1;
    logPmf += Math.log((n - k) / (k + 1));
  }
  if (r === 0) return undefined;
  return { low: sorted[r - 1]!, high: sorted[n - r]!, coverage: 1 - 2 * below };
}

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  loadAverage: number[];
}

/** What the numbers were measured on (recorded beside them). */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    arch: process.arch,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Options for the common case: a few seconds per candidate normally, a fraction of a second in quick mode. */
export function defaultMeasureOptions(ctx: BenchContext): MeasureOptions {
  return ctx.quick
    ? { durationMs: 600, warmupMs: 200, rounds: 3 }
    : { durationMs: 5000, warmupMs: 1000, rounds: 10 };
}
