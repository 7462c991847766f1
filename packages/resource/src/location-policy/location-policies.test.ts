/**
 * createLocationPolicies wired into the guard and the SSF receiver, over real HTTP against the fake
 * transmitter (which also serves the OpenCAE policy sync endpoint): the first document gates
 * `connected()`, the token is the receiver app's client-credentials token with `ssf.read`, and an
 * OpenCAE policy-changed SET — pushed or polled — challenges older CAE tokens at once and refetches.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPENCAE, parseClaimsChallenge } from '@opencae/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTransmitter, trustedOnlyDocument } from '../../test/support/fake-transmitter.js';
import { createNodeGuard, createNodePushHandler } from '../adapters/node.js';
import { ResourceConfigError } from '../errors.js';
import { createResourceGuard } from '../guard.js';
import { createSsfReceiver, type SsfReceiver, type SsfReceiverOptions } from '../receiver/receiver.js';
import { MemoryRevocationStore } from '../revocation/memory-store.js';
import { createLocationPolicies, type LocationPolicies } from './location-policies.js';

const AUDIENCE = 'api://test';
const DOCUMENT = trustedOnlyDocument(['127.0.0.1/32'], 3);

let transmitter: FakeTransmitter;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  transmitter = await FakeTransmitter.start();
});
afterAll(() => transmitter.close());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  transmitter.streams.clear();
  transmitter.locationPolicies = structuredClone(DOCUMENT);
});

function policiesFor(extra: { refreshIntervalMs?: number } = {}): LocationPolicies {
  const policies = createLocationPolicies({
    issuer: transmitter.url,
    audience: AUDIENCE,
    credentials: {
      clientId: transmitter.clientId,
      clientSecret: transmitter.clientSecret,
      tokenEndpoint: `${transmitter.url}/token`,
    },
    refreshIntervalMs: 0,
    ...extra,
  });
  cleanups.push(() => policies.close());
  return policies;
}

/** A node:http API: GET /me behind the guard with the enforcer, POST /ssf/push for the receiver. */
async function startApi(policies: LocationPolicies, delivery: 'push' | 'poll') {
  const store = new MemoryRevocationStore({ retentionSeconds: 86_400 });
  const authenticate = createNodeGuard({
    issuer: transmitter.url,
    audience: AUDIENCE,
    store,
    location: policies.enforcer,
  });
  let push:
    | ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void)
    | undefined;
  const server: Server = createServer(async (req, res) => {
    if (req.url === '/ssf/push' && push) return push(req, res);
    const auth = await authenticate(req, res);
    if (auth) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(auth.claims));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deliveryOption: SsfReceiverOptions['delivery'] =
    delivery === 'push'
      ? {
          method: 'push',
          endpointUrl: `${url}/ssf/push`,
          authorizationHeader: 'Bearer push-secret-0123456789',
        }
      : { method: 'poll' };
  const receiver: SsfReceiver = createSsfReceiver({
    transmitter: transmitter.url,
    clientId: transmitter.clientId,
    clientSecret: transmitter.clientSecret,
    tokenEndpoint: `${transmitter.url}/token`,
    delivery: deliveryOption,
    store,
    locationPolicies: policies,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
  });
  push = createNodePushHandler(receiver);
  cleanups.push(async () => {
    await receiver.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });
  return { url, receiver };
}

async function call(url: string, token: string) {
  const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { reason?: string; error?: string },
  };
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createLocationPolicies', () => {
  it('validates its options at creation', () => {
    expect(() =>
      createLocationPolicies({
        issuer: 'not a url',
        audience: AUDIENCE,
        credentials: { accessToken: async () => 't' },
      }),
    ).toThrow(ResourceConfigError);
    expect(() =>
      createLocationPolicies({
        issuer: transmitter.url,
        audience: AUDIENCE,
        credentials: { clientId: 'only-an-id' } as never,
      }),
    ).toThrow(/credentials/);
  });

  it('refuses requests with 503 location_policy_unavailable until the first document loads', async () => {
    const policies = policiesFor();
    const guard = createResourceGuard({
      issuer: transmitter.url,
      audience: AUDIENCE,
      location: policies.enforcer,
    });
    cleanups.push(() => guard.close());
    const token = await transmitter.issuer.token();
    const before = await guard.verifyRequest({
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: '127.0.0.1',
    });
    expect(before).toMatchObject({ ok: false, status: 503, body: { reason: 'location_policy_unavailable' } });
    expect(before.ok ? undefined : before.headers).toMatchObject({ 'retry-after': '5' });
    await policies.start();
    expect(transmitter.tokenScopes.at(-1)).toBe('ssf.read');
    const after = await guard.verifyRequest({
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: '127.0.0.1',
    });
    expect(after.ok).toBe(true);
    const outside = await guard.verifyRequest({
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: '192.0.2.7',
    });
    expect(outside).toMatchObject({
      ok: false,
      status: 401,
      body: { reason: 'location_blocked', error: 'insufficient_claims' },
    });
  });
});

describe.each(['poll', 'push'] as const)('SSF receiver with location policies, %s delivery', (delivery) => {
  it('connects only once the first document has loaded, retrying while the endpoint fails', async () => {
    transmitter.locationPolicies = undefined; // 404 until the issuer serves it
    const policies = policiesFor();
    const { receiver } = await startApi(policies, delivery);
    receiver.start();
    let connected = false;
    void receiver.connected().then(() => {
      connected = true;
    });
    await eventually(() => transmitter.streams.size === 1 && transmitter.locationPolicyRequests >= 2);
    expect(connected).toBe(false);
    expect(receiver.health().lastError).toMatch(/location policies: the issuer answered 404/);
    transmitter.locationPolicies = structuredClone(DOCUMENT);
    await receiver.connected();
    expect(policies.client.rules?.document.policyVersion).toBe(3);
  });

  it('challenges older CAE tokens on the very next request after a policy-changed SET, then refetches', async () => {
    const policies = policiesFor();
    const { url, receiver } = await startApi(policies, delivery);
    receiver.start();
    await receiver.connected();
    const cae = await transmitter.issuer.token({ xms_pv: 3, xms_lp: ['p-trusted'] });
    const plain = await transmitter.issuer.token({ xms_pv: 3, xms_lp: ['p-trusted'], xms_cc: undefined });
    expect((await call(url, cae)).status).toBe(200);

    // The issuer changes a policy for this API: the document moves on and the SET announces version 4.
    transmitter.locationPolicies = { ...structuredClone(DOCUMENT), policyVersion: 4, audienceVersion: 4 };
    const fetchesBefore = transmitter.locationPolicyRequests;
    await transmitter.emit(
      OPENCAE.policyChanged,
      { event_timestamp: Math.floor(Date.now() / 1000), policy_version: 4, audiences: [AUDIENCE] },
      { format: 'opaque', id: 'policy' },
    );
    await eventually(() => policies.client.requiredVersion === 4);

    const stale = await call(url, cae);
    expect(stale).toMatchObject({
      status: 401,
      body: { reason: 'policy_changed', error: 'insufficient_claims' },
    });
    expect(parseClaimsChallenge(stale.challenge)?.claims).toMatchObject({
      access_token: { nbf: { essential: true }, xms_rp_ipaddr: { value: '127.0.0.1' } },
    });
    // Without cp1 the client could not answer a challenge: the token stays valid until it expires.
    expect((await call(url, plain)).status).toBe(200);
    await eventually(() => policies.client.rules?.document.policyVersion === 4);
    expect(transmitter.locationPolicyRequests).toBeGreaterThan(fetchesBefore);

    const fresh = await transmitter.issuer.token({ xms_pv: 4, xms_lp: ['p-trusted'] });
    expect((await call(url, fresh)).status).toBe(200);
  });

  it('ignores policy-changed SETs for other APIs', async () => {
    const policies = policiesFor();
    const { url, receiver } = await startApi(policies, delivery);
    receiver.start();
    await receiver.connected();
    await transmitter.emit(
      OPENCAE.policyChanged,
      { event_timestamp: Math.floor(Date.now() / 1000), policy_version: 9, audiences: ['api://other'] },
      { format: 'opaque', id: 'policy' },
    );
    await eventually(() => receiver.health().eventsAccepted >= 2);
    expect(policies.client.requiredVersion).toBe(3);
    expect((await call(url, await transmitter.issuer.token({ xms_pv: 3, xms_lp: [] }))).status).toBe(200);
  });
});

describe('receiver option validation', () => {
  it('refuses a locationPolicies object without the hook', () => {
    const store = new MemoryRevocationStore({ retentionSeconds: 60 });
    cleanups.push(() => store.close());
    expect(() =>
      createSsfReceiver({
        transmitter: transmitter.url,
        clientId: 'c',
        clientSecret: 's',
        delivery: { method: 'poll' },
        store,
        locationPolicies: { start: async () => {} } as never,
      }),
    ).toThrow(/onPolicyChanged/);
  });
});
