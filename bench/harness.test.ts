import { describe, expect, it } from 'vitest';
import { machineInfo, measureOpsPerSecond, medianInterval, percentiles } from './harness.js';
import { consoleTable, formatRatios, formatValue, mergeResults, resultsMarkdown } from './report.js';

const quick = { durationMs: 30, warmupMs: 5, rounds: 3 };

describe('percentiles', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentiles(values, [50, 99, 100, 0])).toEqual({ 50: 50, 99: 99, 100: 100, 0: 1 });
    expect(percentiles([7], [50, 99])).toEqual({ 50: 7, 99: 7 });
    expect(percentiles([], [50])[50]).toBeNaN();
    expect(() => percentiles([1], [101])).toThrow(RangeError);
  });
});

describe('medianInterval', () => {
  const shuffled = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % n) + 1);

  it('gives the order statistics of the binomial interval', () => {
    // Tables of the sign test: n = 24 → x(7)..x(18), n = 60 → x(22)..x(39) at 95%.
    expect(medianInterval(shuffled(24))).toMatchObject({ low: 7, high: 18 });
    const sixty = medianInterval(shuffled(60));
    expect(sixty).toMatchObject({ low: 22, high: 39 });
    expect(sixty!.coverage).toBeCloseTo(0.9727, 4);
    expect(medianInterval(shuffled(60), 0.8)).toMatchObject({ low: 25, high: 36 });
  });

  it('needs enough values for the confidence asked, and handles many', () => {
    expect(medianInterval([1, 2, 3, 4, 5])).toBeUndefined();
    expect(medianInterval([])).toBeUndefined();
    const many = medianInterval(shuffled(5001));
    expect(many!.low).toBeLessThan(2501);
    expect(many!.high).toBeGreaterThan(2501);
    expect(many!.high - many!.low).toBeLessThan(200);
    expect(() => medianInterval([1], 1)).toThrow(RangeError);
  });
});

describe('measureOpsPerSecond', () => {
  it('measures one function', async () => {
    let calls = 0;
    const result = await measureOpsPerSecond(() => {
      calls++;
    }, quick);
    expect(result.samples).toHaveLength(3);
    expect(result.median).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(3);
  });

  it('measures several functions, sync and async, round by round', async () => {
    const order: string[] = [];
    const note = (name: string) => {
      if (order.at(-1) !== name) order.push(name);
    };
    let callsAtMeasureStart = -1;
    const result = await measureOpsPerSecond(
      {
        a: () => note('a'),
        b: async () => note('b'),
      },
      {
        ...quick,
        onMeasureStart: () => {
          callsAtMeasureStart = order.length;
        },
      },
    );
    // Before the hook: each created (one call) and warmed up, a then b, nothing measured yet.
    expect(callsAtMeasureStart).toBe(4);
    expect(Object.keys(result)).toEqual(['a', 'b']);
    expect(result.a.samples).toHaveLength(3);
    expect(result.b.samples).toHaveLength(3);
    // Interleaved: a and b alternate rather than one running all its rounds first.
    expect(order.length).toBeGreaterThanOrEqual(6);
  });

  it('charges a candidate the deferred work it settles at the end of each slice', async () => {
    let calls = 0;
    const callsPerSlice: number[] = [];
    const result = await measureOpsPerSecond(
      { plain: () => {}, deferring: () => void calls++ },
      {
        durationMs: 60,
        warmupMs: 0,
        rounds: 3,
        settle: {
          deferring: async () => {
            callsPerSlice.push(calls);
            calls = 0;
            await new Promise((resolve) => setTimeout(resolve, 40));
          },
        },
      },
    );
    expect(callsPerSlice).toHaveLength(3);
    // Each slice lasts at least 20 ms of calls plus 40 ms of settling: never more than calls / 60 ms.
    result.deferring.samples.forEach((rate, slice) => {
      expect(rate).toBeLessThanOrEqual(callsPerSlice[slice]! / 0.06);
    });
  });

  it('rejects nonsensical options', async () => {
    await expect(measureOpsPerSecond(() => {}, { ...quick, rounds: 0 })).rejects.toThrow(RangeError);
  });
});

describe('report', () => {
  const machine = machineInfo();
  const record = (name: string, value: number) => ({
    name,
    description: `${name} benchmark`,
    date: '2026-01-01T00:00:00.000Z',
    quick: false,
    machine,
    measurements: [
      { name: `${name}.x`, metric: 'throughput', value, unit: 'ops/s', peers: { y: value / 2 }, method: 'm' },
    ],
  });

  it('describes the machine', () => {
    expect(machine.cpus).toBeGreaterThan(0);
    expect(machine.node).toBe(process.version);
  });

  it('merges a partial run into the previous results', () => {
    const first = mergeResults(undefined, [record('b', 1), record('a', 2)], 'd1');
    expect(first.benchmarks.map((b) => b.name)).toEqual(['a', 'b']);
    const second = mergeResults(first, [record('b', 3)], 'd2');
    expect(second.date).toBe('d2');
    expect(second.benchmarks.map((b) => b.measurements[0]!.value)).toEqual([2, 3]);
  });

  it('formats values, ratios, the console table and the markdown summary', () => {
    expect(formatValue(1234567.8)).toBe('1,234,568');
    expect(formatValue(12.345)).toBe('12.3');
    expect(formatValue(0.012345)).toBe('0.0123');
    expect(formatRatios(record('a', 10).measurements[0]!)).toBe('2.00× y');
    expect(consoleTable([record('a', 10)])).toContain('a.x');
    const markdown = resultsMarkdown(mergeResults(undefined, [record('a', 10)], 'd'));
    expect(markdown).toContain('## a');
    expect(markdown).toContain('| measurement | metric     | value | unit  | ratio to peers (same run) |');
    expect(markdown).toContain('| ----------- | ---------- | ----: | ----- | ------------------------- |');
    expect(markdown).toContain('| a.x         | throughput |  10.0 | ops/s | 2.00× y                   |');
    expect(markdown).toContain('- `a.x`: m');
  });
});
