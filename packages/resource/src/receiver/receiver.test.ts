import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSet, CAEP, OPENCAE, RISC, SSF, signSet } from '@opencae/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey } from '../../test/support/fake-issuer.js';
import { FakeTransmitter } from '../../test/support/fake-transmitter.js';
import { createNodePushHandler } from '../adapters/node.js';
import { ResourceConfigError } from '../errors.js';
import { MemoryRevocationStore } from '../revocation/memory-store.js';
import { createSsfReceiver, type SsfReceiver, type SsfReceiverOptions } from './receiver.js';

let transmitter: FakeTransmitter;
const receivers: SsfReceiver[] = [];
const stores: MemoryRevocationStore[] = [];

beforeAll(async () => {
  transmitter = await FakeTransmitter.start();
});
afterAll(() => transmitter.close());
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
  transmitter.streams.clear();
});

function receiver(delivery: SsfReceiverOptions['delivery'], extra: Partial<SsfReceiverOptions> = {}) {
  const store = new MemoryRevocationStore({ retentionSeconds: 86_400 });
  stores.push(store);
  const r = createSsfReceiver({
    transmitter: transmitter.url,
    clientId: transmitter.clientId,
    clientSecret: transmitter.clientSecret,
    tokenEndpoint: `${transmitter.url}/token`,
    delivery,
    store,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
    ...extra,
  });
  receivers.push(r);
  return { receiver: r, store };
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const user = { format: 'opaque', id: 'user-1' } as const;
const now = () => Math.floor(Date.now() / 1000);

describe('SSF receiver, poll delivery', () => {
  it('creates its stream, is verified, applies revocations and acknowledges them', async () => {
    const { receiver: r, store } = receiver({ method: 'poll' });
    r.start();
    await r.connected();
    const [stream] = transmitter.streams.values();
    expect(stream?.events_requested).toEqual(
      expect.arrayContaining([CAEP.sessionRevoked, RISC.accountDisabled]),
    );
    await eventually(() => r.health().lastVerificationAt !== undefined);

    const t = now();
    const [jti] = await transmitter.emit(CAEP.sessionRevoked, { event_timestamp: t }, user);
    await eventually(() => store.revokedBefore('p:user-1') === t);
    await eventually(() => transmitter.acks.includes(jti!));
    expect(r.health()).toMatchObject({ streamStatus: 'enabled', eventsAccepted: 2, lastError: undefined });
  });

  it('reports forged SETs in setErrs and does not apply them', async () => {
    const { receiver: r, store } = receiver({ method: 'poll' });
    r.start();
    await r.connected();
    const stream = [...transmitter.streams.values()][0]!;
    const stranger = await createSigningKey();
    const payload = buildSet({
      issuer: transmitter.url,
      audience: transmitter.audience,
      subject: user,
      eventType: RISC.accountDisabled,
      event: {},
    });
    const forged = await signSet(payload, stranger.privateKey, {
      alg: 'RS256',
      kid: transmitter.issuer.key.kid,
    });
    await transmitter.deliver(stream, forged);
    await eventually(() => transmitter.setErrs[payload.jti] !== undefined);
    expect(transmitter.setErrs[payload.jti]?.err).toBe('invalid_key');
    expect(store.disabledSince('p:user-1')).toBe(0);
  });

  it('backs off on errors, recovers, and re-creates a stream the transmitter lost', async () => {
    const { receiver: r, store } = receiver({ method: 'poll' });
    r.start();
    await r.connected();
    transmitter.failPolls = 3;
    await eventually(() => transmitter.failPolls === 0);
    expect(r.health().lastError).toMatch(/HTTP 500/);
    const firstId = r.health().streamId;
    transmitter.streams.clear();
    await eventually(() => transmitter.streams.size === 1 && r.health().streamId !== firstId);
    const t = now();
    await transmitter.emit(RISC.accountDisabled, { event_timestamp: t }, user);
    await eventually(() => store.disabledSince('p:user-1') === t);
  });

  it('adopts its existing stream instead of creating another', async () => {
    const first = receiver({ method: 'poll' }).receiver;
    first.start();
    await first.connected();
    await first.stop();
    const second = receiver({ method: 'poll' }).receiver;
    second.start();
    await second.connected();
    expect(transmitter.streams.size).toBe(1);
    expect(second.health().streamId).toBe(first.health().streamId);
  });

  it('stops cleanly while a long poll is pending', async () => {
    const { receiver: r } = receiver({ method: 'poll' });
    r.start();
    await r.connected();
    await r.stop();
    expect(r.health().running).toBe(false);
    await expect(r.connected()).rejects.toThrow(/stopped/);
  });

  it('tracks stream-updated status and hands every event to listeners', async () => {
    const { receiver: r } = receiver({ method: 'poll' });
    const seen: string[] = [];
    r.onEvent((set) => {
      seen.push(set.eventType);
    });
    r.start();
    await r.connected();
    await transmitter.emit(SSF.streamUpdated, { status: 'paused', reason: 'maintenance' }, user);
    await transmitter.emit(OPENCAE.policyChanged, { event_timestamp: now(), policy_version: 7 }, user);
    await eventually(() => seen.includes(OPENCAE.policyChanged));
    expect(r.health()).toMatchObject({ streamStatus: 'paused', streamStatusReason: 'maintenance' });
  });
});

describe('SSF receiver, push delivery', () => {
  let server: Server;
  let endpointUrl: string;
  let current: SsfReceiver | undefined;
  const secret = 'Bearer 0123456789abcdef0123456789abcdef';

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (!current) return res.writeHead(503).end();
      createNodePushHandler(current)(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ssf/push`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(endpointUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/secevent+jwt', authorization: secret, ...headers },
      body,
    });

  async function pushReceiver() {
    const created = receiver({ method: 'push', endpointUrl, authorizationHeader: secret });
    current = created.receiver;
    created.receiver.start();
    await created.receiver.connected();
    await eventually(() => created.receiver.health().lastVerificationAt !== undefined);
    return created;
  }

  it('accepts pushed SETs with 202, applies them once, and ignores redelivery', async () => {
    const { receiver: r, store } = await pushReceiver();
    expect([...transmitter.streams.values()][0]?.delivery).toMatchObject({
      method: 'urn:ietf:rfc:8935',
      endpoint_url: endpointUrl,
    });
    const t = now();
    const jwt = await transmitter.sign(
      CAEP.credentialChange,
      { event_timestamp: t, credential_type: 'password', change_type: 'update' },
      user,
    );
    expect((await post(jwt)).status).toBe(202);
    expect(store.revokedBefore('p:user-1')).toBe(t);
    expect((await post(jwt)).status).toBe(202);
    expect(r.health().duplicatesIgnored).toBe(1);
  });

  it('answers RFC 8935 errors for bad authorization, bodies, signatures, issuers and audiences', async () => {
    const { store } = await pushReceiver();
    const good = await transmitter.sign(RISC.accountPurged, {}, user);
    expect((await post(good, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(await (await post(good, { authorization: '' })).json()).toMatchObject({
      err: 'authentication_failed',
    });

    const expectErr = async (response: Response, err: string) => {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ err, description: expect.any(String) });
    };
    await expectErr(await post(good, { 'content-type': 'application/json' }), 'invalid_request');
    await expectErr(await post(''), 'invalid_request');
    await expectErr(await post('garbage'), 'invalid_request');
    await expectErr(await post('a.b.c'), 'invalid_request');
    const stranger = await createSigningKey();
    const forge = async (o: { issuer?: string; audience?: string; key?: CryptoKey }) =>
      signSet(
        buildSet({
          issuer: o.issuer ?? transmitter.url,
          audience: o.audience ?? transmitter.audience,
          subject: user,
          eventType: RISC.accountDisabled,
          event: {},
        }),
        o.key ?? transmitter.issuer.key.privateKey,
        { alg: 'RS256', kid: transmitter.issuer.key.kid },
      );
    await expectErr(await post(await forge({ key: stranger.privateKey })), 'invalid_key');
    await expectErr(await post(await forge({ issuer: 'https://evil.example' })), 'invalid_issuer');
    await expectErr(await post(await forge({ audience: 'api://someone-else' })), 'invalid_audience');
    expect((await post('x'.repeat(70_000))).status).toBe(413);
    expect(store.disabledSince('p:user-1')).toBe(0);
  });

  it('validates options at creation', () => {
    expect(() =>
      createSsfReceiver({
        transmitter: transmitter.url,
        clientId: 'c',
        clientSecret: 's',
        delivery: { method: 'push', endpointUrl, authorizationHeader: 'short' },
        store: new MemoryRevocationStore({ retentionSeconds: 1 }),
      }),
    ).toThrow(ResourceConfigError);
  });
});
