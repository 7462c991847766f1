/** What one step of the demo reports, and how a run is summed up. */

export type Outcome =
  /** The API refused the token after the admin action, and the issuer refused the client's re-request. */
  | 'enforced'
  /** The request was refused (no admin action: the replayed token). */
  | 'refused'
  /** The API still accepted the token (or the issuer answered the challenge) when it should not have. */
  | 'not_enforced'
  /** This machine cannot run the step (the reason is in details). */
  | 'not_available'
  /** Something else went wrong (the message is in details.error). */
  | 'error';

export interface StepResult {
  name: string;
  title: string;
  expected: Outcome;
  outcome: Outcome;
  passed: boolean;
  /** Admin action returned → the API refused the token; null when the step has no admin action. */
  ms: number | null;
  details: Record<string, unknown>;
}

export interface Totals {
  steps: number;
  passed: number;
  failed: number;
  notAvailable: number;
  /** Over the steps with a measured enforcement time. */
  enforcementMs: { min: number; median: number; max: number } | null;
  /** Starting the issuer and the sample API on a fresh data folder, seeding included. */
  startupMs: number;
  totalMs: number;
}

export function stepResult(
  step: { name: string; title: string; expected: Outcome },
  outcome: Outcome,
  ms: number | null,
  details: Record<string, unknown>,
): StepResult {
  return {
    ...step,
    outcome,
    passed: outcome === step.expected,
    ms: ms === null ? null : Math.round(ms * 10) / 10,
    details,
  };
}

export function totals(steps: readonly StepResult[], startupMs: number, totalMs: number): Totals {
  const measured = steps
    .map((step) => step.ms)
    .filter((ms): ms is number => ms !== null)
    .sort((a, b) => a - b);
  const notAvailable = steps.filter((step) => step.outcome === 'not_available').length;
  const passed = steps.filter((step) => step.passed).length;
  return {
    steps: steps.length,
    passed,
    failed: steps.length - passed - notAvailable,
    notAvailable,
    enforcementMs:
      measured.length === 0
        ? null
        : {
            min: measured[0]!,
            median:
              Math.round(
                ((measured[Math.floor((measured.length - 1) / 2)]! +
                  measured[Math.floor(measured.length / 2)]!) /
                  2) *
                  10,
              ) / 10,
            max: measured[measured.length - 1]!,
          },
    startupMs: Math.round(startupMs),
    totalMs: Math.round(totalMs),
  };
}
