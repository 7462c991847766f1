import type { AddressInfo } from 'node:net';
import { CAEP, parseClaimsChallenge } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTransmitter } from '../../packages/resource/test/support/fake-transmitter.js';
import { createExampleApp } from './app.js';
import { configFromEnv } from './config.js';

describe.each(['poll', 'push'] as const)('Express example, %s delivery', (delivery) => {
  let transmitter: FakeTransmitter;
  let example: ReturnType<typeof createExampleApp>;
  let server: import('node:http').Server;
  let url: string;

  beforeAll(async () => {
    transmitter = await FakeTransmitter.start();
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
});
