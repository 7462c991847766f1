import { RISC } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeTransmitter,
  trustedOnlyDocument,
} from '../../packages/resource/test/support/fake-transmitter.js';
import { configFromEnv } from '../shared/config.js';
import { createExampleApp, type ExampleApp } from './app.js';

describe('Fastify example, poll delivery', () => {
  let transmitter: FakeTransmitter;
  let example: ExampleApp;
  const env = () => ({
    OPENCAE_ISSUER_URL: transmitter.url,
    API_AUDIENCE: 'api://test',
    SSF_CLIENT_ID: transmitter.clientId,
    SSF_CLIENT_SECRET: transmitter.clientSecret,
    SSF_DELIVERY: 'poll',
  });

  beforeAll(async () => {
    transmitter = await FakeTransmitter.start();
    transmitter.locationPolicies = trustedOnlyDocument(['127.0.0.1/32'], 1);
    example = await createExampleApp(configFromEnv(env()));
    example.receiver.start();
    await example.receiver.connected();
  });
  afterAll(async () => {
    await example.app.close();
    await transmitter.close();
  });

  it('serves the claims, then refuses the disabled user on the next call', async () => {
    const token = await transmitter.issuer.token({ xms_cc: undefined });
    const me = await example.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ sub: 'user-1' });
    expect((await example.app.inject({ url: '/health' })).statusCode).toBe(200);

    await transmitter.emit(RISC.accountDisabled, {}, { format: 'opaque', id: 'user-1' });
    const deadline = Date.now() + 5000;
    let response = await example.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    while (response.statusCode === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      response = await example.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    }
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(response.json()).toMatchObject({ reason: 'account_disabled' });
  });

  it('reports a missing variable clearly', () => {
    expect(() => configFromEnv({})).toThrow(/OPENCAE_ISSUER_URL/);
    expect(() => configFromEnv({ ...env(), LOCATION_POLICIES: 'maybe' })).toThrow(/LOCATION_POLICIES/);
  });

  it('enforces location policies by default (synced with ssf.read), and LOCATION_POLICIES=off turns them off', async () => {
    expect(example.locationPolicies?.client.rules?.document.policyVersion).toBe(1);
    expect(transmitter.tokenScopes).toContain('ssf.read');
    // inject() comes from 127.0.0.1, outside the trusted location of this document.
    transmitter.locationPolicies = trustedOnlyDocument(['192.0.2.0/24'], 2);
    await example.locationPolicies!.client.refresh();
    const token = await transmitter.issuer.token({
      sub: 'user-2',
      oid: 'user-2',
      xms_lp: ['p-trusted'],
      xms_pv: 2,
    });
    const blocked = await example.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    expect(blocked.statusCode).toBe(401);
    expect(blocked.json()).toMatchObject({ reason: 'location_blocked', error: 'insufficient_claims' });

    const off = await createExampleApp(configFromEnv({ ...env(), LOCATION_POLICIES: 'off' }));
    try {
      expect(off.locationPolicies).toBeUndefined();
      expect(off.guard.options.location).toBeUndefined();
    } finally {
      await off.app.close();
    }
  });
});
