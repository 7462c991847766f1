/**
 * Two replicas of the example API share revocation state through Redis (unique key prefix). Only
 * replica A has an SSF stream; the SET it receives is enforced by replica B, which never talked to the
 * transmitter, and by a replica C started afterwards (it catches up from Redis).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.js';
import { type RunningExampleApi, startExampleApi } from './support/example-apis.js';
import { type RunningIssuer, startIssuer, storageEngines } from './support/issuer.js';
import { DeliveredEvents, nextSecond } from './support/observers.js';
import {
  daemonClient,
  expectClaimsChallenge,
  measurements,
  printMeasurements,
  refusedChallenge,
} from './support/scenario.js';

const redis = await redisUrl();

afterAll(() => printMeasurements('Redis replicas: admin call returned → replica enforced'));

describe.runIf(redis).each(storageEngines)('two API replicas on Redis, issuer on $name', (engine) => {
  const audience = 'api://orders-replicated';
  let stack: RunningIssuer;
  const replicas: RunningExampleApi[] = [];
  let options: Parameters<typeof startExampleApi>[0];

  beforeAll(async () => {
    stack = await startIssuer(engine);
    await stack.admin.createApi(audience);
    const receiver = await stack.admin.createReceiver('replicated receiver');
    options = {
      framework: 'express',
      issuerUrl: stack.url,
      audience,
      delivery: 'push',
      receiver: { clientId: receiver.application.client_id, clientSecret: receiver.client_secret!.value },
      redis: { url: redis!, keyPrefix: `opencae:e2e:${randomUUID()}:` },
    };
    replicas.push(await startExampleApi(options));
    replicas.push(await startExampleApi({ ...options, startReceiver: false }));
    for (const replica of replicas) await replica.guard.store.ready();
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await stack?.close();
  });

  it('a SET delivered to replica A is enforced by replica B on its next request, and by a late replica C', async () => {
    const [a, b] = replicas as [RunningExampleApi, RunningExampleApi];
    expect(a.receiver.health().streamId).toBeDefined();
    expect(b.receiver.health().streamId).toBeUndefined();
    const created = await stack.admin.createDaemon('replicated daemon', audience);
    const daemon = daemonClient({
      issuerUrl: stack.url,
      apiUrl: b.url,
      audience,
      clientId: created.application.client_id,
      clientSecret: created.client_secret!.value,
    });
    const token = (await daemon.client.getAccessToken()).token;
    const call = (replica: RunningExampleApi) =>
      fetch(`${replica.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call(a)).status).toBe(200);
    expect((await call(b)).status).toBe(200);

    const events = new DeliveredEvents(a.receiver);
    await nextSecond();
    const action = await stack.admin.disableServicePrincipal(created.application.client_id);
    const delivered = await events.waitFor(action.txn);
    events.unsubscribe();
    measurements.push({
      run: engine.name,
      scenario: 'replica A applied the SET',
      milliseconds: delivered.appliedAt - action.returnedAt,
    });

    // B learns of it over Redis pub/sub, a few milliseconds after A wrote it.
    let accepted = 0;
    let response = await call(b);
    const deadline = performance.now() + 5000;
    while (response.status === 200 && performance.now() < deadline) {
      accepted++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      response = await call(b);
    }
    measurements.push({
      run: engine.name,
      scenario: `replica B enforced (accepted ${accepted} call(s) after A applied)`,
      milliseconds: performance.now() - action.returnedAt,
    });
    const nbf = delivered.set.event.event_timestamp as number;
    await expectClaimsChallenge(response, { issuerUrl: stack.url, nbf, reason: 'account_disabled' });

    // The daemon's own client at B: challenge, one re-request, refused.
    daemon.log.reset();
    const refused = await refusedChallenge(daemon.client.fetch(`${b.url}/me`));
    expect(refused.error).toBe('invalid_client');
    expect({ api: daemon.log.apiRequests, token: daemon.log.tokenRequests }).toEqual({ api: 1, token: 1 });

    // A replica started now catches up from Redis before serving.
    const c = await startExampleApi({ ...options, startReceiver: false });
    replicas.push(c);
    await c.guard.store.ready();
    await expectClaimsChallenge(await call(c), { issuerUrl: stack.url, nbf, reason: 'account_disabled' });
  });
});
