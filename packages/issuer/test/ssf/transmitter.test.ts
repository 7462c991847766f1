/**
 * The SSF transmitter end to end, over HTTP, against a receiver written from the specifications.
 * Runs on PGlite, and on PostgreSQL (DATABASE_URL) with two issuer processes sharing one database:
 * management calls go to one, events are committed through the other.
 */
import { randomUUID } from 'node:crypto';
import { CAEP, DELIVERY, RISC, SSF } from '@opencae/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { PUSH_CLAIM_LOCK } from '../../src/ssf/push-worker.js';
import { testSecretsKey } from '../support/secrets-keys.js';
import { call, disableUser, receiverToken, startTestIssuer, type TestIssuer } from './issuer-harness.js';
import { discoverTransmitter, PollingReceiver, PushReceiver, SetValidator } from './spec-receiver.js';

const serverUrl = await postgresUrl();
/** Both PostgreSQL replicas share one secrets key, as a deployment must. */
const secretsKeys = testSecretsKey('ssf');
const engines = [
  { name: 'PGlite', instances: 1 },
  ...(serverUrl ? [{ name: 'PostgreSQL with two issuers', instances: 2 }] : []),
];

describe.each(engines)('SSF transmitter on $name', ({ instances }) => {
  let a: TestIssuer;
  let b: TestIssuer;
  let drop: () => Promise<void> = async () => {};
  let databaseUrl: string | undefined;
  const receivers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    if (instances === 2 && serverUrl) {
      const database = await createTestDatabase(serverUrl);
      drop = database.drop;
      databaseUrl = database.url;
      a = await startTestIssuer({ databaseUrl: database.url, secretsKeys });
      // A second issuer process: same issuer URL and database (so same keys), its own port.
      b = await startTestIssuerSameUrl(database.url, a.url);
    } else {
      a = await startTestIssuer({});
      b = a;
    }
  });

  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
    if (b && b !== a) await b.close();
    await a?.close();
    await drop();
  });

  async function token(clientId: string, roles = ['ssf.manage']) {
    return receiverToken(a.issuer, { clientId, roles });
  }

  async function pushStream(clientId: string, extra: Record<string, unknown> = {}) {
    const receiver = new PushReceiver();
    receivers.push(receiver);
    const url = await receiver.start();
    const metadata = await discoverTransmitter(a.url);
    receiver.validator = new SetValidator(a.url, metadata.jwks_uri!, clientId);
    const created = await call(metadata.configuration_endpoint!, 'POST', '', await token(clientId), {
      delivery: { method: DELIVERY.push, endpoint_url: url, authorization_header: 'Bearer receiver-secret' },
      events_requested: [RISC.accountDisabled, CAEP.sessionRevoked],
      ...extra,
    });
    expect(created.status).toBe(201);
    return { receiver, stream: created.body as Record<string, any> };
  }

  async function deliveries(streamId: string) {
    return a.issuer.context.db
      .selectFrom('ssf_deliveries')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('security_event_id')
      .execute();
  }

  it('publishes SSF 1.0 transmitter metadata', async () => {
    const metadata = await discoverTransmitter(a.url);
    expect(metadata).toMatchObject({
      spec_version: '1_0',
      issuer: a.url,
      jwks_uri: `${a.url}/jwks`,
      delivery_methods_supported: [DELIVERY.push, DELIVERY.poll],
      configuration_endpoint: `${a.url}/ssf/streams`,
      status_endpoint: `${a.url}/ssf/status`,
      add_subject_endpoint: `${a.url}/ssf/subjects/add`,
      remove_subject_endpoint: `${a.url}/ssf/subjects/remove`,
      verification_endpoint: `${a.url}/ssf/verify`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      default_subjects: 'ALL',
    });
  });

  it('refuses missing, invalid, expired, wrongly typed and under-privileged tokens', async () => {
    const base = `${a.url}/ssf/streams`;
    expect((await call(base, 'GET', '', undefined)).status).toBe(401);
    expect((await call(base, 'GET', '', 'not-a-jwt')).status).toBe(401);
    const wrongAudience = await receiverToken(a.issuer, { clientId: 'r', audience: 'urn:opencae:admin' });
    expect((await call(base, 'GET', '', wrongAudience)).status).toBe(401);
    const expired = await receiverToken(a.issuer, { clientId: 'r', expired: true });
    expect((await call(base, 'GET', '', expired)).status).toBe(401);
    const idToken = await receiverToken(a.issuer, { clientId: 'r', typ: 'JWT' });
    expect((await call(base, 'GET', '', idToken)).status).toBe(401);
    const readOnly = await token('reader', ['ssf.read']);
    expect((await call(base, 'GET', '', readOnly)).status).toBe(200);
    const denied = await call(base, 'POST', '', readOnly, {});
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    const nothing = await token('nobody', ['something.else']);
    expect((await call(base, 'GET', '', nothing)).status).toBe(403);
  });

  it('refuses a request without a token before reading its body', async () => {
    // Malformed JSON: a body parsed before the token check would answer 400, not 401.
    for (const path of ['/ssf/streams', '/ssf/status', '/ssf/subjects/add', '/ssf/verify']) {
      const response = await call(a.url, 'POST', path, undefined, undefined, '{"stream_id":');
      expect(response.status, path).toBe(401);
    }
  });

  it('creates a poll stream by default, with a unique poll URL and only supported events delivered', async () => {
    const owner = `poll-${randomUUID()}`;
    const t = await token(owner);
    const first = await call(`${a.url}/ssf/streams`, 'POST', '', t, {
      events_requested: [RISC.accountDisabled, 'urn:example:unknown-event'],
      description: 'first',
    });
    expect(first.status).toBe(201);
    const stream = first.body as Record<string, any>;
    expect(stream).toMatchObject({
      iss: a.url,
      aud: owner,
      delivery: { method: DELIVERY.poll, endpoint_url: `${a.url}/ssf/poll/${stream.stream_id}` },
      events_requested: [RISC.accountDisabled, 'urn:example:unknown-event'],
      events_delivered: [RISC.accountDisabled],
      description: 'first',
    });
    expect(stream.events_supported).toContain(CAEP.credentialChange);
    const second = (await call(`${a.url}/ssf/streams`, 'POST', '', t, {})).body as Record<string, any>;
    expect(second.delivery.endpoint_url).not.toBe(stream.delivery.endpoint_url);
    // No events_requested: every supported event.
    expect(second.events_delivered).toEqual(second.events_supported);

    const one = await call(`${a.url}/ssf/streams?stream_id=${stream.stream_id}`, 'GET', '', t);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(stream);
    expect(one.headers.get('cache-control')).toBe('no-store');
    const list = await call(`${a.url}/ssf/streams`, 'GET', '', t);
    expect((list.body as unknown[]).map((s: any) => s.stream_id)).toEqual([
      stream.stream_id,
      second.stream_id,
    ]);
  });

  it('rejects malformed stream requests with 400', async () => {
    const t = await token(`bad-${randomUUID()}`);
    const base = `${a.url}/ssf/streams`;
    const cases: [unknown, string?][] = [
      [[1, 2]],
      [{ delivery: { method: 'urn:example:carrier-pigeon' } }],
      [{ delivery: { method: DELIVERY.push } }],
      [{ delivery: { method: DELIVERY.push, endpoint_url: 'not a url' } }],
      [{ events_requested: 'not-an-array' }],
      [{ description: 42 }],
      [
        {
          delivery: {
            method: DELIVERY.push,
            endpoint_url: 'http://127.0.0.1:9/x',
            authorization_header: 'a\r\nb: c',
          },
        },
      ],
    ];
    for (const [body] of cases) {
      const answer = await call(base, 'POST', '', t, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((answer.body as any).error).toBeTruthy();
    }
    expect((await call(base, 'POST', '', t, undefined, '{"broken":')).status).toBe(400);
    expect((await call(base, 'PATCH', '', t, { description: 'no stream id' })).status).toBe(400);
    expect((await call(`${base}?stream_id=`, 'DELETE', '', t)).status).toBe(400);
  });

  it('refuses push URLs that would reach private, link-local or non-https destinations', async () => {
    const t = await token(`ssrf-${randomUUID()}`);
    for (const url of [
      'http://10.0.0.1/events',
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/x',
      'https://10.1.2.3/x',
      'ftp://127.0.0.1/x',
      'https://user:pass@127.0.0.1/x',
    ]) {
      const answer = await call(`${a.url}/ssf/streams`, 'POST', '', t, {
        delivery: { method: DELIVERY.push, endpoint_url: url },
      });
      expect(answer.status, url).toBe(400);
      expect((answer.body as any).error, url).toBe('push_url_refused');
    }
  });

  it("answers 404 for another receiver's stream on every endpoint", async () => {
    const { stream } = await pushStream(`owner-${randomUUID()}`);
    const id = stream.stream_id as string;
    const intruder = await token(`intruder-${randomUUID()}`);
    const attempts = [
      call(`${a.url}/ssf/streams?stream_id=${id}`, 'GET', '', intruder),
      call(`${a.url}/ssf/streams`, 'PATCH', '', intruder, { stream_id: id, description: 'mine' }),
      call(`${a.url}/ssf/streams`, 'PUT', '', intruder, { stream_id: id }),
      call(`${a.url}/ssf/streams?stream_id=${id}`, 'DELETE', '', intruder),
      call(`${a.url}/ssf/status?stream_id=${id}`, 'GET', '', intruder),
      call(`${a.url}/ssf/status`, 'POST', '', intruder, { stream_id: id, status: 'disabled' }),
      call(`${a.url}/ssf/subjects/add`, 'POST', '', intruder, {
        stream_id: id,
        subject: { format: 'email', email: 'x@example.com' },
      }),
      call(`${a.url}/ssf/subjects/remove`, 'POST', '', intruder, {
        stream_id: id,
        subject: { format: 'email', email: 'x@example.com' },
      }),
      call(`${a.url}/ssf/verify`, 'POST', '', intruder, { stream_id: id }),
      call(`${a.url}/ssf/poll/${id}`, 'POST', '', intruder, { returnImmediately: true }),
    ];
    for (const answer of await Promise.all(attempts)) expect(answer.status).toBe(404);
    expect((await call(`${a.url}/ssf/streams?stream_id=not-a-uuid`, 'GET', '', intruder)).status).toBe(404);
    const owner = await token(stream.aud);
    expect((await call(`${a.url}/ssf/status?stream_id=${id}`, 'GET', '', owner)).body).toEqual({
      stream_id: id,
      status: 'enabled',
    });
  });

  it('updates (PATCH), replaces (PUT) and deletes a stream', async () => {
    const owner = `upd-${randomUUID()}`;
    const { stream } = await pushStream(owner, { description: 'before' });
    const t = await token(owner);
    const patched = await call(`${a.url}/ssf/streams`, 'PATCH', '', t, {
      stream_id: stream.stream_id,
      events_requested: [CAEP.credentialChange],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      description: 'before',
      events_delivered: [CAEP.credentialChange],
      delivery: { method: DELIVERY.push, authorization_header: 'Bearer receiver-secret' },
    });
    const mismatch = await call(`${a.url}/ssf/streams`, 'PATCH', '', t, {
      stream_id: stream.stream_id,
      iss: 'https://someone-else.example',
    });
    expect(mismatch.status).toBe(400);
    // PUT: receiver-supplied members left out are reset (delivery back to poll, events to all supported).
    const replaced = await call(`${a.url}/ssf/streams`, 'PUT', '', t, {
      stream_id: stream.stream_id,
      iss: a.url,
      aud: owner,
    });
    expect(replaced.status).toBe(200);
    const body = replaced.body as Record<string, any>;
    expect(body.description).toBeUndefined();
    expect(body.delivery).toEqual({
      method: DELIVERY.poll,
      endpoint_url: `${a.url}/ssf/poll/${stream.stream_id}`,
    });
    expect(body.events_delivered).toEqual(body.events_supported);
    expect((await call(`${a.url}/ssf/streams?stream_id=${stream.stream_id}`, 'DELETE', '', t)).status).toBe(
      204,
    );
    expect((await call(`${a.url}/ssf/streams?stream_id=${stream.stream_id}`, 'GET', '', t)).status).toBe(404);
    expect((await call(`${a.url}/ssf/streams?stream_id=${stream.stream_id}`, 'DELETE', '', t)).status).toBe(
      404,
    );
  });

  it('pushes valid SETs (RFC 8935) with the stream authorization header, committed through another process', async () => {
    const owner = `push-${randomUUID()}`;
    const { receiver, stream } = await pushStream(owner);
    const { userId, txn } = await disableUser(b.issuer, { email: 'Alice@example.com' });
    await receiver.received.waitFor((sets) => sets.some((set) => set.txn === txn));
    const set = receiver.received.sets.find((s) => s.txn === txn)!;
    expect(set).toMatchObject({
      iss: a.url,
      aud: owner,
      eventType: RISC.accountDisabled,
      event: { reason: 'hijacking' },
      subId: {
        format: 'aliases',
        identifiers: [
          { format: 'iss_sub', iss: a.url, sub: userId },
          { format: 'email', email: 'Alice@example.com' },
        ],
      },
    });
    const request = receiver.requests.at(-1)!;
    // Sent in clear to the receiver, stored encrypted: the raw row never holds the header.
    const stored = await a.issuer.context.db
      .selectFrom('ssf_streams')
      .select('authorization_header')
      .where('id', '=', stream.stream_id)
      .executeTakeFirstOrThrow();
    expect(stored.authorization_header).toMatch(/^enc:v1:/);
    expect(stored.authorization_header).not.toContain('receiver-secret');
    expect(request).toEqual({
      authorization: 'Bearer receiver-secret',
      contentType: 'application/secevent+jwt',
      accept: 'application/json',
    });
    expect(receiver.received.invalid).toEqual([]);
    // The receiver answers before the transmitter records the outcome.
    await expect
      .poll(async () => (await deliveries(stream.stream_id)).map((row) => row.state))
      .toEqual(['delivered']);
  });

  it('retries a receiver that answers 500, then delivers once', async () => {
    const { receiver, stream } = await pushStream(`retry-${randomUUID()}`);
    receiver.respond({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const { txn } = await disableUser(b.issuer);
    await receiver.received.waitFor((sets) => sets.some((set) => set.txn === txn));
    await expect
      .poll(async () => (await deliveries(stream.stream_id)).map((r) => [r.state, r.attempts]))
      .toEqual([['delivered', 3]]);
    expect(receiver.received.duplicates).toBe(0);
  });

  it('retries a receiver that times out', async () => {
    const { receiver, stream } = await pushStream(`timeout-${randomUUID()}`);
    receiver.respond({ kind: 'hang' });
    const { txn } = await disableUser(b.issuer);
    await receiver.received.waitFor((sets) => sets.some((set) => set.txn === txn), 15_000);
    const [row] = await deliveries(stream.stream_id);
    expect(row?.attempts).toBe(2);
  });

  it('records a 400 with an RFC 8935 error body as a permanent failure', async () => {
    const { receiver, stream } = await pushStream(`reject-${randomUUID()}`);
    receiver.respond({
      kind: 'status',
      status: 400,
      body: { err: 'invalid_audience', description: 'not for us' },
    });
    await disableUser(b.issuer);
    await expect
      .poll(
        async () => (await deliveries(stream.stream_id)).map((r) => [r.state, r.attempts, r.last_error]),
        {
          timeout: 10_000,
        },
      )
      .toEqual([['failed', 1, 'invalid_audience: not for us']]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('dead-letters after the last attempt and replays on an administrator request', async () => {
    const { receiver, stream } = await pushStream(`dead-${randomUUID()}`);
    receiver.respond(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 502 })));
    const { txn } = await disableUser(b.issuer);
    await expect
      .poll(async () => (await deliveries(stream.stream_id)).map((r) => r.state), { timeout: 10_000 })
      .toEqual(['dead_letter']);
    const admin = await receiverToken(a.issuer, {
      clientId: 'admin-app',
      audience: 'urn:opencae:admin',
      roles: ['admin'],
    });
    const listed = await call(`${a.url}/admin/v1/streams/${stream.stream_id}/deliveries`, 'GET', '', admin);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject([
      { state: 'dead_letter', attempts: 4, event_type: RISC.accountDisabled },
    ]);
    expect(
      (await call(`${a.url}/admin/v1/streams/${stream.stream_id}/deliveries`, 'GET', '', await token('x')))
        .status,
    ).toBe(401);
    const all = await call(`${a.url}/admin/v1/streams`, 'GET', '', admin);
    expect(JSON.stringify(all.body)).not.toContain('receiver-secret');
    const replay = await call(
      `${a.url}/admin/v1/streams/${stream.stream_id}/deliveries/replay`,
      'POST',
      '',
      admin,
      {},
    );
    expect(replay.body).toEqual({ replayed: 1 });
    await receiver.received.waitFor((sets) => sets.some((set) => set.txn === txn));
    await expect
      .poll(async () => (await deliveries(stream.stream_id)).map((r) => r.state))
      .toEqual(['delivered']);
  });

  it('holds events in order while paused, releases them on enable, and drops them when disabled', async () => {
    const owner = `pause-${randomUUID()}`;
    const { receiver, stream } = await pushStream(owner);
    const t = await token(owner);
    const paused = await call(`${a.url}/ssf/status`, 'POST', '', t, {
      stream_id: stream.stream_id,
      status: 'paused',
      reason: 'maintenance',
    });
    expect(paused.body).toEqual({ stream_id: stream.stream_id, status: 'paused', reason: 'maintenance' });
    await receiver.received.waitFor((sets) => sets.some((s) => s.eventType === SSF.streamUpdated));
    expect(receiver.received.ofType(SSF.streamUpdated)[0]).toMatchObject({
      event: { status: 'paused', reason: 'maintenance' },
      subId: { format: 'opaque', id: stream.stream_id },
    });
    const txns: string[] = [];
    for (let i = 0; i < 5; i++) txns.push((await disableUser(b.issuer)).txn);
    await expect.poll(async () => (await deliveries(stream.stream_id)).length).toBe(6);
    await a.ssf.drain();
    expect(receiver.received.ofType(RISC.accountDisabled)).toEqual([]);

    await call(`${a.url}/ssf/status`, 'POST', '', t, { stream_id: stream.stream_id, status: 'enabled' });
    await receiver.received.waitFor(
      (sets) => sets.filter((s) => s.eventType === RISC.accountDisabled).length === 5,
    );
    expect(receiver.received.ofType(RISC.accountDisabled).map((s) => s.txn)).toEqual(txns);

    await call(`${a.url}/ssf/status`, 'POST', '', t, { stream_id: stream.stream_id, status: 'disabled' });
    expect((await call(`${a.url}/ssf/status?stream_id=${stream.stream_id}`, 'GET', '', t)).body).toEqual({
      stream_id: stream.stream_id,
      status: 'disabled',
    });
    const before = (await deliveries(stream.stream_id)).filter(
      (r) => r.event_type === RISC.accountDisabled,
    ).length;
    await disableUser(b.issuer);
    await b.ssf.drain();
    await a.ssf.drain();
    const after = (await deliveries(stream.stream_id)).filter(
      (r) => r.event_type === RISC.accountDisabled,
    ).length;
    expect(after).toBe(before);
    expect(
      (await call(`${a.url}/ssf/status`, 'POST', '', t, { stream_id: stream.stream_id, status: 'off' }))
        .status,
    ).toBe(400);
  });

  it.skipIf(instances !== 2)(
    'claims held events one replica at a time, so no two replicas split what a stream held',
    async () => {
      const owner = `claim-${randomUUID()}`;
      const { receiver, stream } = await pushStream(owner);
      const t = await token(owner);
      const status = (value: string) =>
        call(`${a.url}/ssf/status`, 'POST', '', t, { stream_id: stream.stream_id, status: value });
      await status('paused');
      const { txn } = await disableUser(b.issuer);
      await expect.poll(async () => (await deliveries(stream.stream_id)).length).toBe(2);
      // Another claim in progress: it holds the claim lock, as a replica does for a claim's few ms.
      const holder = new pg.Client({ connectionString: databaseUrl });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock($1)', [PUSH_CLAIM_LOCK]);
        await status('enabled');
        // Both replicas' push workers wake up for the held event and wait for the lock.
        await expect
          .poll(
            async () =>
              (
                await holder.query<{ waiting: number }>(
                  `SELECT count(*)::int AS waiting FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                    WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted`,
                )
              ).rows[0]?.waiting,
            { timeout: 10_000 },
          )
          .toBeGreaterThan(0);
        expect(receiver.received.ofType(RISC.accountDisabled)).toEqual([]);
        await holder.query('COMMIT');
        await receiver.received.waitFor((sets) => sets.some((set) => set.txn === txn));
      } finally {
        await holder.end();
      }
    },
  );

  it('sends a verification SET with the state, and answers 429 inside min_verification_interval', async () => {
    const owner = `verify-${randomUUID()}`;
    const { receiver, stream } = await pushStream(owner);
    const t = await token(owner);
    const answer = await call(`${a.url}/ssf/verify`, 'POST', '', t, {
      stream_id: stream.stream_id,
      state: 'abc123',
    });
    expect(answer.status).toBe(204);
    await receiver.received.waitFor((sets) => sets.some((s) => s.eventType === SSF.verification));
    expect(receiver.received.ofType(SSF.verification)[0]).toMatchObject({
      event: { state: 'abc123' },
      subId: { format: 'opaque', id: stream.stream_id },
    });
    await a.issuer.context.db
      .updateTable('ssf_streams')
      .set({ min_verification_interval: 60 })
      .where('id', '=', stream.stream_id)
      .execute();
    const limited = await call(`${a.url}/ssf/verify`, 'POST', '', t, { stream_id: stream.stream_id });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(`${a.url}/ssf/verify`, 'POST', '', t, { state: 'x' })).status).toBe(400);
  });

  it('filters by subject: removed subjects get nothing, added-back subjects get their events', async () => {
    const owner = `subjects-${randomUUID()}`;
    const { receiver, stream } = await pushStream(owner);
    const t = await token(owner);
    const removed = randomUUID();
    const subject = { format: 'iss_sub', iss: a.url, sub: removed };
    expect(
      (await call(`${a.url}/ssf/subjects/remove`, 'POST', '', t, { stream_id: stream.stream_id, subject }))
        .status,
    ).toBe(204);
    const status = await call(
      `${a.url}/ssf/status?stream_id=${stream.stream_id}&subject=${encodeURIComponent(JSON.stringify(subject))}`,
      'GET',
      '',
      t,
    );
    expect(status.body).toMatchObject({ status: 'disabled', subject });
    await disableUser(b.issuer, { userId: removed });
    const other = await disableUser(b.issuer);
    await receiver.received.waitFor((sets) => sets.some((s) => s.txn === other.txn));
    expect(receiver.received.sets.some((s) => (s.subId as any).sub === removed)).toBe(false);

    expect(
      (
        await call(`${a.url}/ssf/subjects/add`, 'POST', '', t, {
          stream_id: stream.stream_id,
          subject,
          verified: true,
        })
      ).status,
    ).toBe(200);
    const again = await disableUser(b.issuer, { userId: randomUUID(), txn: randomUUID() });
    const back = await b.issuer.context.db.transaction().execute(async (trx) => {
      const { enqueueSecurityEvents, newTxn } = await import('../../src/events/outbox.js');
      const txn = newTxn();
      await enqueueSecurityEvents(trx, txn, [
        {
          eventType: CAEP.sessionRevoked,
          subject: subject as never,
          event: { event_timestamp: 1, reason_admin: { en: 'test' } },
          principalType: 'user',
          principalId: removed,
        },
      ]);
      return txn;
    });
    await receiver.received.waitFor(
      (sets) => sets.some((s) => s.txn === back) && sets.some((s) => s.txn === again.txn),
    );
    const bad = await call(`${a.url}/ssf/subjects/add`, 'POST', '', t, {
      stream_id: stream.stream_id,
      subject: { format: 'email' },
    });
    expect(bad.status).toBe(400);
    const badStatus = await call(
      `${a.url}/ssf/status?stream_id=${stream.stream_id}&subject=%7Bnope`,
      'GET',
      '',
      t,
    );
    expect(badStatus.status).toBe(404);
  });

  it('serves RFC 8936 long polls: wakes on a new SET, acknowledges, redelivers what is not acknowledged', async () => {
    const owner = `poller-${randomUUID()}`;
    const t = await token(owner);
    const created = (
      await call(`${a.url}/ssf/streams`, 'POST', '', t, {
        events_requested: [RISC.accountDisabled],
      })
    ).body as Record<string, any>;
    const metadata = await discoverTransmitter(a.url);
    const validator = new SetValidator(a.url, metadata.jwks_uri!, owner);
    const poller = new PollingReceiver(created.delivery.endpoint_url, () => t, validator);
    receivers.push({ close: () => poller.stop() });

    // returnImmediately with nothing queued answers at once with no SETs.
    expect(await poller.pollOnce({ returnImmediately: true })).toEqual({ sets: {}, moreAvailable: false });

    // A long poll in flight is answered by the next SET.
    const waiting = poller.pollOnce({ maxEvents: 10 });
    const { txn } = await disableUser(b.issuer);
    const answered = await waiting;
    const [jti, jwt] = Object.entries(answered.sets)[0]!;
    expect((await validator.validate(jwt)).txn).toBe(txn);

    // Not acknowledged: handed out again on a later poll (after the redelivery delay).
    const again = await poller.pollOnce({ maxEvents: 10 });
    expect(Object.keys(again.sets)).toEqual([jti]);
    // Acknowledged: gone.
    expect(await poller.pollOnce({ ack: [jti], returnImmediately: true })).toEqual({
      sets: {},
      moreAvailable: false,
    });

    // moreAvailable and setErrs.
    await disableUser(b.issuer);
    await disableUser(b.issuer);
    await expect.poll(async () => (await deliveries(created.stream_id)).length).toBe(3);
    const one = await poller.pollOnce({ maxEvents: 1, returnImmediately: true });
    expect(Object.keys(one.sets)).toHaveLength(1);
    expect(one.moreAvailable).toBe(true);
    const [badJti] = Object.keys(one.sets);
    const rest = await poller.pollOnce({
      maxEvents: 5,
      returnImmediately: true,
      setErrs: { [badJti!]: { err: 'invalid_key', description: 'unknown kid' } },
    });
    expect(Object.keys(rest.sets)).toHaveLength(1);
    const failed = (await deliveries(created.stream_id)).find((r) => r.jti === badJti);
    expect(failed).toMatchObject({ state: 'failed', last_error: 'invalid_key: unknown kid' });

    expect((await call(created.delivery.endpoint_url, 'POST', '', t, { maxEvents: -1 })).status).toBe(400);
    expect((await call(created.delivery.endpoint_url, 'POST', '', t, [1])).status).toBe(400);
  });

  it('delivers every event exactly once to a de-duplicating receiver under load from both processes', async () => {
    const owner = `load-${randomUUID()}`;
    const { receiver, stream } = await pushStream(owner);
    const t = await token(owner);
    const pollStream = (
      await call(`${a.url}/ssf/streams`, 'POST', '', t, {
        events_requested: [RISC.accountDisabled],
      })
    ).body as Record<string, any>;
    const metadata = await discoverTransmitter(a.url);
    const poller = new PollingReceiver(
      pollStream.delivery.endpoint_url,
      () => t,
      new SetValidator(a.url, metadata.jwks_uri!, owner),
    );
    receivers.push({ close: () => poller.stop() });
    poller.start();
    const txns = new Set<string>();
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        txns.add((await disableUser(i % 2 ? a.issuer : b.issuer)).txn),
      ),
    );
    const mine = (sets: { txn: string | undefined }[]) => sets.filter((s) => s.txn && txns.has(s.txn)).length;
    await receiver.received.waitFor((sets) => mine(sets) === 40, 20_000);
    await poller.received.waitFor((sets) => mine(sets) === 40, 20_000);
    await expect
      .poll(async () => (await deliveries(stream.stream_id)).filter((r) => r.state !== 'delivered').length)
      .toBe(0);
    expect(receiver.received.duplicates).toBe(0);
    expect(receiver.received.invalid).toEqual([]);
    expect(poller.received.invalid).toEqual([]);
  });
});

/** Another issuer instance behind the same issuer URL (as behind a load balancer), on its own port. */
async function startTestIssuerSameUrl(databaseUrl: string, url: string): Promise<TestIssuer> {
  const { createIssuer } = await import('../../src/server.js');
  const { ssfModule } = await import('../../src/ssf/module.js');
  const { FAST_SSF_OPTIONS, freePort, testJwksModule } = await import('./issuer-harness.js');
  const port = await freePort();
  const ssf = ssfModule(FAST_SSF_OPTIONS);
  const issuer = await createIssuer(
    { issuerUrl: url, port, host: '127.0.0.1', devMode: true, databaseUrl, secretsKeys },
    { modules: [testJwksModule(), ssf] },
  );
  await issuer.listen();
  return { issuer, url: `http://127.0.0.1:${port}`, ssf, close: () => issuer.close() };
}
