/**
 * The transmitter's metrics: delivery outcomes by method (push: delivered, retry, failed, dead letter;
 * poll: handed out, reported failed) and the outbox backlog, counted at scrape time within a limit.
 */
import { DELIVERY, RISC } from '@opencae/protocol';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSecurityEvents, newTxn } from '../../src/events/outbox.js';
import { TimeLimitError, withinTimeLimit } from '../../src/metrics/time-limit.js';
import { createIssuer } from '../../src/server.js';
import { pushOutcomeLabel, ssfMetrics } from '../../src/ssf/metrics.js';
import { ssfModule } from '../../src/ssf/module.js';
import type { Db } from '../../src/storage/database.js';
import { call, disableUser, receiverToken, startTestIssuer, type TestIssuer } from './issuer-harness.js';
import { discoverTransmitter, PushReceiver, SetValidator } from './spec-receiver.js';

async function deliveries(registry: Registry, method: string, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('opencae_ssf_deliveries_total')?.get();
  const value = metric?.values.find((v) => v.labels.method === method && v.labels.outcome === outcome);
  return value?.value ?? 0;
}

describe('SSF delivery metrics', () => {
  let a: TestIssuer;
  const receivers: PushReceiver[] = [];
  const registry = () => a.issuer.context.metrics;

  beforeAll(async () => {
    a = await startTestIssuer({});
  });
  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
    await a?.close();
  });

  it('counts poll deliveries: SETs handed out, and those the receiver reports as failed', async () => {
    const t = await receiverToken(a.issuer, { clientId: 'metrics-poller' });
    const created = await call(`${a.url}/ssf/streams`, 'POST', '', t, {
      events_requested: [RISC.accountDisabled],
    });
    expect(created.status).toBe(201);
    const pollUrl = (created.body as { delivery: { endpoint_url: string } }).delivery.endpoint_url;
    const poll = async (body: Record<string, unknown>) =>
      (await call(pollUrl, 'POST', '', t, { returnImmediately: true, ...body })).body as {
        sets: Record<string, string>;
      };

    const before = await deliveries(registry(), 'poll', 'delivered');
    await disableUser(a.issuer);
    await disableUser(a.issuer);
    await a.ssf.drain();
    const handed = Object.keys((await poll({ maxEvents: 10 })).sets);
    expect(handed).toHaveLength(2);
    expect(await deliveries(registry(), 'poll', 'delivered')).toBe(before + 2);

    await poll({
      ack: [handed[0]],
      setErrs: { [handed[1]!]: { err: 'invalid_key', description: 'unknown key' } },
      maxEvents: 0,
    });
    expect(await deliveries(registry(), 'poll', 'failed')).toBe(1);
    // The same report again changes nothing: the delivery is already failed.
    await poll({ setErrs: { [handed[1]!]: { err: 'invalid_key', description: 'again' } }, maxEvents: 0 });
    expect(await deliveries(registry(), 'poll', 'failed')).toBe(1);
  });

  it('counts push attempts: a retry after a 503, the delivery, a refusal for good', async () => {
    const receiver = new PushReceiver();
    receivers.push(receiver);
    const url = await receiver.start();
    const metadata = await discoverTransmitter(a.url);
    receiver.validator = new SetValidator(a.url, metadata.jwks_uri!, 'metrics-pushed');
    const created = await call(
      metadata.configuration_endpoint!,
      'POST',
      '',
      await receiverToken(a.issuer, { clientId: 'metrics-pushed' }),
      {
        delivery: { method: DELIVERY.push, endpoint_url: url },
        events_requested: [RISC.accountDisabled],
      },
    );
    expect(created.status).toBe(201);
    await a.ssf.drain();
    const delivered = await deliveries(registry(), 'push', 'delivered');
    const retried = await deliveries(registry(), 'push', 'retry');
    const failed = await deliveries(registry(), 'push', 'failed');

    receiver.respond({ kind: 'status', status: 503 });
    await disableUser(a.issuer);
    await expect
      .poll(() => deliveries(registry(), 'push', 'delivered'), { timeout: 10_000 })
      .toBe(delivered + 1);
    expect(await deliveries(registry(), 'push', 'retry')).toBe(retried + 1);

    receiver.respond({ kind: 'status', status: 400, body: { err: 'invalid_request', description: 'no' } });
    await disableUser(a.issuer);
    await expect.poll(() => deliveries(registry(), 'push', 'failed'), { timeout: 10_000 }).toBe(failed + 1);
    expect(await deliveries(registry(), 'push', 'delivered')).toBe(delivered + 1);
    expect(await deliveries(registry(), 'push', 'dead_letter')).toBe(0);
  });

  it('labels push outcomes the way the worker records them', () => {
    expect(pushOutcomeLabel({ kind: 'delivered', status: 202 }, undefined)).toBe('delivered');
    expect(pushOutcomeLabel({ kind: 'failed', status: 400, error: 'invalid_request' }, undefined)).toBe(
      'failed',
    );
    expect(pushOutcomeLabel({ kind: 'retry', error: 'timeout' }, 1_000)).toBe('retry');
    expect(pushOutcomeLabel({ kind: 'retry', error: 'timeout' }, undefined)).toBe('dead_letter');
  });
});

describe('SSF outbox backlog gauge', () => {
  it('counts the security events not yet dispatched, at scrape time', async () => {
    // Not listening: the dispatcher never runs, so what is enqueued stays in the outbox.
    const issuer = await createIssuer(
      { issuerUrl: 'http://127.0.0.1:8080', dataDir: 'memory://', port: 0 },
      { modules: [ssfModule()] },
    );
    try {
      const pending = async () =>
        (await issuer.context.metrics.getSingleMetric('opencae_ssf_outbox_pending')?.get())?.values[0]?.value;
      expect(await pending()).toBe(0);
      await enqueueSecurityEvents(
        issuer.context.db,
        newTxn(),
        ['a', 'b', 'c'].map((sub) => ({
          eventType: RISC.accountDisabled,
          subject: { format: 'opaque', id: sub },
          event: { event_timestamp: 0 },
          principalType: 'user',
          principalId: sub,
        })),
      );
      expect(await pending()).toBe(3);
    } finally {
      await issuer.close();
    }
  });

  it('keeps its last value and warns when the count does not finish in time', async () => {
    let answer: Promise<{ pending: string }> = Promise.resolve({ pending: '4' });
    const query = { select: () => query, where: () => query, executeTakeFirstOrThrow: () => answer };
    const warnings: string[] = [];
    const registry = new Registry();
    ssfMetrics({
      registry,
      db: { selectFrom: () => query } as unknown as Db,
      logger: { warn: (_details, message) => warnings.push(message) },
      outboxCountTimeoutMs: 5,
    });
    const gauge = async () =>
      (await registry.getSingleMetric('opencae_ssf_outbox_pending')?.get())?.values[0];
    expect((await gauge())?.value).toBe(4);
    answer = new Promise(() => {}); // a database that never answers
    expect((await gauge())?.value).toBe(4);
    expect(warnings).toEqual(['opencae_ssf_outbox_pending not updated']);
    // The scrape as a whole still answers.
    expect(await registry.metrics()).toContain('opencae_ssf_outbox_pending 4');
  });

  it('bounds scrape-time work', async () => {
    await expect(withinTimeLimit(new Promise(() => {}), 5, 'a query')).rejects.toBeInstanceOf(TimeLimitError);
    await expect(withinTimeLimit(Promise.resolve(7), 1_000, 'a query')).resolves.toBe(7);
  });
});
