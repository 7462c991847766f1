/**
 * SSF transmitter latency: from an admin action's commit (state change + outbox row, one transaction)
 * returning, to the SET arriving, validated, at a push receiver (RFC 8935) and at a long-polling
 * receiver (RFC 8936); with 1 and with 50 streams; and sustained events per second. Everything on
 * loopback, issuer on embedded PGlite (and PostgreSQL when DATABASE_URL is set).
 */
import { DELIVERY, RISC } from '@opencae/protocol';
import {
  call,
  disableUser,
  receiverToken,
  startTestIssuer,
  type TestIssuer,
} from '../packages/issuer/test/ssf/issuer-harness.js';
import {
  discoverTransmitter,
  PollingReceiver,
  PushReceiver,
  type ReceivedSets,
  SetValidator,
} from '../packages/issuer/test/ssf/spec-receiver.js';
import type { BenchContext, Benchmark, Measurement } from './harness.js';
import { percentiles } from './harness.js';

const PRODUCTION_TIMERS = { pushTimeoutMs: 10_000, longPollMaxWaitMs: 30_000, pollRedeliveryMs: 30_000 };

async function pushReceiverFor(issuer: TestIssuer, clientId: string): Promise<PushReceiver> {
  const receiver = new PushReceiver();
  const url = await receiver.start();
  const metadata = await discoverTransmitter(issuer.url);
  receiver.validator = new SetValidator(issuer.url, metadata.jwks_uri!, clientId);
  const token = await receiverToken(issuer.issuer, { clientId });
  const created = await call(metadata.configuration_endpoint!, 'POST', '', token, {
    delivery: { method: DELIVERY.push, endpoint_url: url },
    events_requested: [RISC.accountDisabled],
  });
  if (created.status !== 201) throw new Error(`stream creation failed: ${created.status}`);
  return receiver;
}

async function pollingReceiverFor(issuer: TestIssuer, clientId: string): Promise<PollingReceiver> {
  const metadata = await discoverTransmitter(issuer.url);
  const token = await receiverToken(issuer.issuer, { clientId });
  const created = await call(metadata.configuration_endpoint!, 'POST', '', token, {
    events_requested: [RISC.accountDisabled],
  });
  const stream = created.body as { delivery: { endpoint_url: string } };
  const receiver = new PollingReceiver(
    stream.delivery.endpoint_url,
    () => token,
    new SetValidator(issuer.url, metadata.jwks_uri!, clientId),
  );
  receiver.start();
  return receiver;
}

/** Commits events one at a time; per event, the latency until every receiver has it. */
async function sequentialLatencies(issuer: TestIssuer, receivers: ReceivedSets[], events: number) {
  const latencies: number[] = [];
  for (let i = 0; i < events; i++) {
    const { txn } = await disableUser(issuer.issuer);
    const committedAt = performance.now();
    for (const received of receivers) {
      await received.waitFor((sets) => sets.length > 0 && sets.at(-1)!.txn === txn, 30_000);
      latencies.push(received.arrivals.get(received.sets.at(-1)!.jti)! - committedAt);
    }
  }
  return latencies;
}

function latencyMeasurements(name: string, latencies: number[], method: string): Measurement[] {
  const p = percentiles(latencies, [50, 99]);
  return [
    { name, metric: 'p50 latency', value: round(p[50]!), unit: 'ms', method },
    { name, metric: 'p99 latency', value: round(p[99]!), unit: 'ms', method },
  ];
}

const round = (value: number) => Math.round(value * 100) / 100;

async function runOn(engine: string, ctx: BenchContext, databaseUrl?: string): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const events = ctx.quick ? 100 : 1000;
  const method = (what: string) =>
    `${engine}: ${what}; from the commit of a transaction (user disabled + outbox row) returning to the ` +
    'SET validated (signature via jwks_uri, claims, event schema) by a receiver in the same process, loopback.';

  // One push stream and one long-polling stream, each measured alone.
  {
    const issuer = await startTestIssuer({ ...(databaseUrl ? { databaseUrl } : {}), ssf: PRODUCTION_TIMERS });
    const push = await pushReceiverFor(issuer, 'bench-push');
    await sequentialLatencies(issuer, [push.received], 20);
    results.push(
      ...latencyMeasurements(
        `ssf push, 1 stream (${engine})`,
        await sequentialLatencies(issuer, [push.received], events),
        method(`${events} events committed one after another, 1 push stream`),
      ),
    );
    await call(
      `${issuer.url}/ssf/status`,
      'POST',
      '',
      await receiverToken(issuer.issuer, { clientId: 'bench-push' }),
      {
        stream_id: (
          (await issuer.issuer.context.db.selectFrom('ssf_streams').select('id').executeTakeFirst()) as {
            id: string;
          }
        ).id,
        status: 'disabled',
      },
    );
    const poll = await pollingReceiverFor(issuer, 'bench-poll');
    await sequentialLatencies(issuer, [poll.received], 20);
    results.push(
      ...latencyMeasurements(
        `ssf long poll, 1 stream (${engine})`,
        await sequentialLatencies(issuer, [poll.received], events),
        method(
          `${events} events committed one after another, 1 stream long-polled (returnImmediately false)`,
        ),
      ),
    );

    // Sustained: a burst committed concurrently, until the long-polling receiver has them all.
    const burst = ctx.quick ? 200 : 1000;
    const start = performance.now();
    const before = poll.received.sets.length;
    await Promise.all(Array.from({ length: burst }, () => disableUser(issuer.issuer)));
    await poll.received.waitFor((sets) => sets.length >= before + burst, 300_000);
    results.push({
      name: `ssf sustained, 1 polled stream (${engine})`,
      metric: 'throughput',
      value: Math.round(burst / ((performance.now() - start) / 1000)),
      unit: 'events/s',
      method: `${engine}: ${burst} admin actions committed concurrently; events per second until the long-polling receiver validated the last SET.`,
    });
    await poll.stop();
    await push.close();
    await issuer.close();
  }

  // Fifty push streams: every event fans out to fifty SETs, each signed for its stream.
  {
    const issuer = await startTestIssuer({ ...(databaseUrl ? { databaseUrl } : {}), ssf: PRODUCTION_TIMERS });
    const receivers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => pushReceiverFor(issuer, `bench-fanout-${i}`)),
    );
    const fanoutEvents = ctx.quick ? 4 : 40;
    await sequentialLatencies(
      issuer,
      receivers.map((receiver) => receiver.received),
      2,
    );
    results.push(
      ...latencyMeasurements(
        `ssf push, 50 streams (${engine})`,
        await sequentialLatencies(
          issuer,
          receivers.map((receiver) => receiver.received),
          fanoutEvents,
        ),
        method(
          `${fanoutEvents} events one after another, 50 push streams: ${fanoutEvents * 50} SET arrivals, each a sample`,
        ),
      ),
    );
    for (const receiver of receivers) await receiver.close();
    await issuer.close();
  }
  return results;
}

export default {
  name: 'ssf',
  description:
    'SSF transmitter: commit-to-receiver latency (push and long poll, 1 and 50 streams), throughput',
  async run(ctx) {
    const results = await runOn('PGlite', ctx);
    const databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl && !ctx.quick) {
      const { createTestDatabase } = await import('../test/support/services.js');
      const database = await createTestDatabase(databaseUrl);
      try {
        results.push(...(await runOn('PostgreSQL', ctx, database.url)));
      } finally {
        await database.drop();
      }
    }
    return results;
  },
} satisfies Benchmark;
