/**
 * opencae_token_requests_total is fed by the sign-in recorder: token request entries count (with or
 * without a sign-in log), sign-ins the sign-in page refuses do not, and labels stay bounded.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { SignInEntry } from '../logs/sign-in-entry.js';
import { SignInRecorder } from './sign-in-recorder.js';
import { grantTypeLabel, tokenRequestMetrics } from './token-request-metrics.js';

const entry = (overrides: Partial<SignInEntry> = {}): SignInEntry => ({
  grantType: 'client_credentials',
  caeToken: true,
  result: 'success',
  ...overrides,
});

async function counts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('opencae_token_requests_total')?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map(({ labels, value }) => [
      `${labels.grant_type} ${labels.result} ${labels.cae}`,
      value,
    ]),
  );
}

const silent = { warn() {} };

describe('token request metrics', () => {
  it('counts token request entries, not the sign-in page’s refusals, with or without a log', async () => {
    const registry = new Registry();
    const logged: SignInEntry[] = [];
    const recorder = new SignInRecorder(() => ({ record: (e) => logged.push(e) > 0 }), silent);
    recorder.observeTokenRequests(tokenRequestMetrics(registry));
    recorder.record(entry());
    recorder.record(entry({ result: 'failure', caeToken: false, grantType: 'refresh_token' }));
    recorder.recordLater(Promise.resolve(entry({ result: 'failure', caeToken: false })), 'sign_in_page');
    recorder.recordLater(Promise.resolve(entry()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged).toHaveLength(4);
    expect(await counts(registry)).toEqual({
      'client_credentials success true': 2,
      'refresh_token failure false': 1,
    });

    const metricsOnly = new SignInRecorder(undefined, silent);
    expect(metricsOnly.enabled).toBe(false);
    const alone = new Registry();
    metricsOnly.observeTokenRequests(tokenRequestMetrics(alone));
    expect(metricsOnly.enabled).toBe(true);
    metricsOnly.recordLater(Promise.resolve(entry()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await counts(alone)).toEqual({ 'client_credentials success true': 1 });
  });

  it('keeps labels bounded: unknown grant types are "other", a refusal is never a CAE token', async () => {
    expect(grantTypeLabel(undefined)).toBe('none');
    expect(grantTypeLabel('authorization_code')).toBe('authorization_code');
    expect(grantTypeLabel('urn:ietf:params:oauth:grant-type:device_code')).toBe(
      'urn:ietf:params:oauth:grant-type:device_code',
    );
    expect(grantTypeLabel('x'.repeat(500))).toBe('other');
    const registry = new Registry();
    const observer = tokenRequestMetrics(registry);
    observer.observe(entry({ grantType: 'made-up-1', result: 'failure', caeToken: true }));
    observer.observe(entry({ grantType: 'made-up-2', result: 'failure', caeToken: false }));
    expect(await counts(registry)).toEqual({ 'other failure false': 2 });
  });

  it('never lets a failing observer break the token response', () => {
    const warnings: string[] = [];
    // pino's warn is overloaded; this test needs only the (details, message) form.
    const warn = (_details: object, message: string) => void warnings.push(message);
    const recorder = new SignInRecorder(undefined, { warn: warn as never });
    recorder.observeTokenRequests({
      observe() {
        throw new Error('boom');
      },
    });
    expect(() => recorder.record(entry())).not.toThrow();
    expect(warnings).toEqual(['token request not counted']);
  });
});
