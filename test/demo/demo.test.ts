/**
 * `opencae demo --json` as a machine runs it: a child process that starts its own issuer and sample API
 * (grandchildren) on a temporary folder, plays the scenario over HTTP and prints one JSON document.
 * The milliseconds are reported, never asserted.
 */
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './cli-process.js';

interface Details {
  caeCapable?: boolean;
  apiStatus?: number;
  apiReason?: string;
  reRequest?: string;
  tokenLifetimeHours: number;
  challenge: { error: string; claims: { access_token: Record<string, unknown> } };
}
interface Report {
  steps: { name: string; outcome: string; passed: boolean; ms: number | null; details: Details }[];
  totals: {
    steps: number;
    passed: number;
    failed: number;
    notAvailable: number;
    startupMs: number;
    enforcementMs: { min: number; median: number; max: number };
  };
}

const demoFolders = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('opencae-demo-'));

describe('opencae demo --json', () => {
  it('runs every step with the expected outcome, prints one JSON document, removes its folder', async () => {
    const before = await demoFolders();
    const run = runCli(['demo', '--json'], cleanEnv());
    const code = await run.exited;
    const output = run.output();
    const report = JSON.parse(output) as Report;
    expect(report.steps.map((step) => step.name)).toEqual([
      'workload-secret-reset',
      'user-disabled',
      'stolen-token-replay',
      'risk-high',
      'guest-revoked',
    ]);
    for (const step of report.steps)
      expect(step, JSON.stringify(step.details)).toMatchObject({ passed: true });
    expect(code).toBe(0);

    const [secret, disabled, replay, risk, guest] = report.steps;
    for (const step of [secret!, disabled!, risk!, guest!]) {
      expect(step.outcome).toBe('enforced');
      expect(typeof step.ms).toBe('number');
      expect(step.details).toMatchObject({ caeCapable: true, apiStatus: 401 });
      expect(step.details.challenge.error).toBe('insufficient_claims');
      expect(step.details.tokenLifetimeHours).toBeGreaterThanOrEqual(20);
    }
    expect(secret!.details).toMatchObject({
      apiReason: 'token_revoked',
      reRequest: 'refused by the issuer: invalid_client',
    });
    expect(disabled!.details).toMatchObject({
      apiReason: 'account_disabled',
      reRequest: 'refused by the issuer: invalid_grant',
    });
    expect(replay!).toMatchObject({ outcome: 'refused', ms: null });
    expect(replay!.details).toMatchObject({ apiStatus: 401, apiReason: 'location_blocked' });
    expect(replay!.details.challenge.claims.access_token.xms_rp_ipaddr).toEqual({ value: '127.0.0.2' });
    expect(report.totals).toMatchObject({ steps: 5, passed: 5, failed: 0, notAvailable: 0 });
    expect(report.totals.enforcementMs.max).toBeGreaterThanOrEqual(report.totals.enforcementMs.min);
    console.log(
      `\nopencae demo: ${report.steps.map((step) => `${step.name} ${step.ms ?? '-'} ms`).join(', ')}; startup ${report.totals.startupMs} ms\n`,
    );

    expect(await demoFolders()).toEqual(before);
  }, 240_000);
});
