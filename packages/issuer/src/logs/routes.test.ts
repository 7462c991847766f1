import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintAccessToken, mintAdminToken } from '../../test/support/admin-token.js';
import { createIssuer, type Issuer } from '../server.js';
import { type LogsModule, logsModule } from './module.js';

const ISSUER = 'https://issuer.logs.test';

describe('logs admin routes', () => {
  let issuer: Issuer;
  let logs: LogsModule;
  let dataDir: string;
  let admin: string;

  const get = async (url: string, token: string | null = admin) => {
    const response = await issuer.app.inject({
      method: 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.statusCode, body: response.json() as Record<string, any> };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-logs-'));
    logs = logsModule();
    issuer = await createIssuer({ issuerUrl: ISSUER, port: 0, dataDir }, { modules: [logs] });
    admin = await mintAdminToken(issuer.context.keys, ISSUER);
  });
  afterAll(async () => {
    await issuer.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses requests without an admin token before reading the query', async () => {
    expect((await get('/admin/v1/sign-ins?cae=maybe', null)).status).toBe(401);
    const reader = await mintAccessToken(issuer.context.keys, { issuer: ISSUER, roles: ['reader'] });
    expect((await get('/admin/v1/sign-ins', reader)).status).toBe(403);
    const otherAudience = await mintAccessToken(issuer.context.keys, {
      issuer: ISSUER,
      roles: ['admin'],
      audience: 'urn:opencae:ssf',
    });
    expect((await get('/admin/v1/overview', otherAudience)).status).toBe(401);
  });

  it('lists recorded sign-ins with filters, pagination and a detail view', async () => {
    const writer = logs.signInLog();
    const user = randomUUID();
    writer.record({
      principal: { type: 'user', id: user, name: 'carol' },
      app: { clientId: 'web', name: 'Web' },
      apiAudience: 'api://orders',
      grantType: 'refresh_token',
      caeToken: true,
      lifetimeSeconds: 90_000,
      clientCapabilities: ['cp1'],
      result: 'success',
      conditionalAccess: [{ policyId: 'p1', policyName: 'Block outside', outcome: 'notApplied' }],
      correlationId: randomUUID(),
    });
    writer.record({
      principal: { type: 'user', id: user, name: 'carol' },
      app: { clientId: 'web', name: 'Web' },
      caeToken: false,
      result: 'failure',
      errorCode: 'invalid_grant',
      failureReason: 'the account is disabled',
      correlationId: randomUUID(),
    });
    await writer.flush();

    const all = await get('/admin/v1/sign-ins?limit=1');
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(1);
    expect(all.body.items[0]).toMatchObject({ result: 'failure', error_code: 'invalid_grant' });
    const next = await get(`/admin/v1/sign-ins?limit=1&cursor=${all.body.next_cursor}`);
    expect(next.body.items[0]).toMatchObject({ result: 'success', cae_token: true });

    const cae = await get(`/admin/v1/sign-ins?cae=true&principal=${user}`);
    expect(cae.body.items).toHaveLength(1);
    const detail = await get(`/admin/v1/sign-ins/${cae.body.items[0].id}`);
    expect(detail.body.conditional_access).toEqual([
      { policyId: 'p1', policyName: 'Block outside', outcome: 'notApplied' },
    ]);
    const byRequest = await get(`/admin/v1/sign-ins?correlation_id=${all.body.items[0].correlation_id}`);
    expect(byRequest.body.items.map((item: { id: string }) => item.id)).toEqual([all.body.items[0].id]);
    const failures = await get('/admin/v1/sign-ins?result=failure&app=web&from=2000-01-01T00:00:00Z');
    expect(failures.body.items.map((item: { failure_reason: string }) => item.failure_reason)).toEqual([
      'the account is disabled',
    ]);
  });

  it('answers 400 for invalid filters and 404 for an unknown sign-in', async () => {
    for (const query of [
      'cae=maybe',
      'limit=0',
      'limit=500',
      'from=yesterday',
      'result=ok',
      'unknown=1',
      'cursor=%00',
      'cursor=zzz',
      `correlation_id=${'x'.repeat(129)}`,
    ]) {
      const response = await get(`/admin/v1/sign-ins?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error, query).toBe('invalid_request');
    }
    expect((await get('/admin/v1/sign-ins/123456789')).status).toBe(404);
    expect((await get('/admin/v1/sign-ins/not-an-id')).status).toBe(404);
  });

  it('shows critical events with their per-stream delivery times and stream health in the overview', async () => {
    const db = issuer.context.db;
    const userId = randomUUID();
    await db
      .insertInto('users')
      .values({
        id: userId,
        username: 'dave',
        display_name: 'Dave',
        email: null,
        kind: 'member',
        password_hash: null,
        totp_secret: null,
      })
      .execute();
    const occurred = new Date(Date.now() - 5_000);
    const event = await db
      .insertInto('security_events')
      .values({
        txn: randomUUID(),
        event_type: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
        subject: JSON.stringify({ format: 'iss_sub', iss: ISSUER, sub: userId }),
        event: JSON.stringify({}),
        principal_type: 'user',
        principal_id: userId,
        occurred_at: occurred,
        dispatched_at: occurred,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const stream = (id: string, description: string, method: 'urn:ietf:rfc:8935' | 'urn:ietf:rfc:8936') => ({
      id,
      owner_client_id: 'receiver',
      aud: 'receiver',
      events_delivered: JSON.stringify([]),
      delivery_method: method,
      endpoint_url: 'https://receiver.example/events',
      min_verification_interval: 0,
      description,
    });
    const push = randomUUID();
    const poll = randomUUID();
    await db
      .insertInto('ssf_streams')
      .values([stream(push, 'Orders API', 'urn:ietf:rfc:8935'), stream(poll, 'Billing', 'urn:ietf:rfc:8936')])
      .execute();
    await db
      .insertInto('ssf_deliveries')
      .values([
        {
          stream_id: push,
          security_event_id: event.id,
          jti: randomUUID(),
          event_type: 'account-disabled',
          set_jwt: 'x',
          state: 'delivered',
          next_attempt_at: occurred,
          delivered_at: new Date(occurred.getTime() + 42),
        },
        {
          stream_id: poll,
          security_event_id: event.id,
          jti: randomUUID(),
          event_type: 'account-disabled',
          set_jwt: 'x',
          state: 'dead_letter',
          attempts: 8,
          next_attempt_at: occurred,
          last_error: 'HTTP 500',
        },
      ])
      .execute();

    const { status, body } = await get('/admin/v1/overview');
    expect(status).toBe(200);
    const recent = body.recent_events.find((item: { id: string }) => item.id === String(event.id));
    expect(recent).toMatchObject({ principal_name: 'dave', principal_type: 'user' });
    expect(recent.deliveries).toEqual([
      expect.objectContaining({ stream: 'Orders API', state: 'delivered', propagation_ms: 42 }),
      expect.objectContaining({
        stream: 'Billing',
        state: 'dead_letter',
        propagation_ms: null,
        last_error: 'HTTP 500',
      }),
    ]);
    const health = Object.fromEntries(
      body.streams.map((item: { name: string; health: string }) => [item.name, item]),
    );
    expect(health['Orders API']).toMatchObject({
      health: 'healthy',
      median_propagation_ms: 42,
      lag_seconds: 0,
    });
    expect(health.Billing).toMatchObject({ health: 'failing', deliveries: { dead_letter: 1 } });
    expect(body.sign_ins.last_24h).toEqual({ success: 1, failure: 1, cae: 1 });

    const events = await get(`/admin/v1/security-events?principal=${userId}`);
    expect(events.body.items).toHaveLength(1);
    expect((await get('/admin/v1/security-events?limit=abc')).status).toBe(400);
  });
});
