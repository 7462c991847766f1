import { RISC } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTransmitter } from '../../packages/resource/test/support/fake-transmitter.js';
import { createExampleApp, type ExampleApp } from './app.js';
import { configFromEnv } from './config.js';

describe('Fastify example, poll delivery', () => {
  let transmitter: FakeTransmitter;
  let example: ExampleApp;

  beforeAll(async () => {
    transmitter = await FakeTransmitter.start();
    example = await createExampleApp(
      configFromEnv({
        OPENCAE_ISSUER_URL: transmitter.url,
        API_AUDIENCE: 'api://test',
        SSF_CLIENT_ID: transmitter.clientId,
        SSF_CLIENT_SECRET: transmitter.clientSecret,
        SSF_DELIVERY: 'poll',
      }),
    );
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
  });
});
