import type { AddressInfo } from 'node:net';
import { CAEP, OPENCAE, parseClaimsChallenge } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeTransmitter,
  trustedOnlyDocument,
} from '../../packages/resource/test/support/fake-transmitter.js';
import { configFromEnv } from '../shared/config.js';
import { createExampleApp } from './app.js';

describe.each(['poll', 'push'] as const)('Express example, %s delivery', (delivery) => {
  let transmitter: FakeTransmitter;
  let example: ReturnType<typeof createExampleApp>;
  let server: import('node:http').Server;
  let url: string;

  beforeAll(async () => {
    transmitter = await FakeTransmitter.start();
    // The issuer's location policies for this API: users only from 127.0.0.1 (where the tests call from).
    transmitter.locationPolicies = trustedOnlyDocument(['127.0.0.1/32'], 1);
    // Listen first so the push URL (which names the port) is known.
    const { default: express } = await import('express');
    const front = express();
    server = front.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    example = createExampleApp(
      configFromEnv({
        OPENCAE_ISSUER_URL: transmitter.url,
        API_AUDIENCE: 'api://test',
        SSF_CLIENT_ID: transmitter.clientId,
        SSF_CLIENT_SECRET: transmitter.clientSecret,
        SSF_DELIVERY: delivery,
        SSF_PUSH_URL: `${url}/ssf/push`,
      }),
    );
    front.use(example.app);
    example.receiver.start();
    await example.receiver.connected();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await example.close();
    await transmitter.close();
  });

  it('serves the claims, then challenges the very next call after sessions are revoked', async () => {
    const token = await transmitter.issuer.token({}, { iat: Math.floor(Date.now() / 1000) - 5 });
    const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'user-1' });

    await transmitter.emit(
      CAEP.sessionRevoked,
      { event_timestamp: Math.floor(Date.now() / 1000) },
      {
        format: 'opaque',
        id: 'user-1',
      },
    );
    const deadline = Date.now() + 5000;
    let response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    while (response.status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    }
    expect(response.status).toBe(401);
    expect(
      parseClaimsChallenge(response.headers.get('www-authenticate'))?.claims.access_token,
    ).toHaveProperty('nbf');
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ delivery, streamStatus: 'enabled' });
  });

  it('enforces the location policies by default, and follows a policy change without a restart', async () => {
    expect(example.locationPolicies).toBeDefined();
    // Synced with the receiver app's client credentials, least privilege.
    expect(transmitter.tokenScopes).toContain('ssf.read');
    const claims = { sub: 'user-2', oid: 'user-2', sid: 'session-2', xms_lp: ['p-trusted'] };
    const before = await transmitter.issuer.token({ ...claims, xms_pv: 1 });
    const call = (token: string) => fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call(before)).status).toBe(200);

    // The admin moves the office: the issuer serves version 2 and announces it with a SET.
    transmitter.locationPolicies = trustedOnlyDocument(['192.0.2.0/24'], 2);
    await transmitter.emit(
      OPENCAE.policyChanged,
      { event_timestamp: Math.floor(Date.now() / 1000), policy_version: 2, audiences: ['api://test'] },
      { format: 'opaque', id: 'policies' },
    );
    const deadline = Date.now() + 5000;
    while (example.locationPolicies!.client.rules?.document.policyVersion !== 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));

    const stale = await call(before);
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ reason: 'policy_changed' });
    const after = await call(await transmitter.issuer.token({ ...claims, xms_pv: 2 }));
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ reason: 'location_blocked', error: 'insufficient_claims' });
    expect(parseClaimsChallenge(after.headers.get('www-authenticate'))?.claims.access_token).toMatchObject({
      xms_rp_ipaddr: { value: '127.0.0.1' },
    });
  });
});
