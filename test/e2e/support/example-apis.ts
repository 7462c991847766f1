/**
 * The example APIs (examples/express-api, examples/fastify-api) started in-process, configured exactly
 * as their documented environment variables configure them, against a real issuer.
 */
import type { Server } from 'node:http';
import type { ResourceGuard, SsfReceiver } from '@opencae/resource';
import { createExampleApp as createExpressApp } from '../../../examples/express-api/app.js';
import { createExampleApp as createFastifyApp } from '../../../examples/fastify-api/app.js';
import { configFromEnv } from '../../../examples/shared/config.js';
import { freePort } from './issuer.js';

export type Framework = 'express' | 'fastify';
export type Delivery = 'push' | 'poll';

export interface ExampleApiOptions {
  framework: Framework;
  issuerUrl: string;
  audience: string;
  receiver: { clientId: string; clientSecret: string };
  delivery: Delivery;
  redis?: { url: string; keyPrefix: string };
  /**
   * Start the SSF receiver (default true). A second replica sharing Redis runs without a stream: it
   * still syncs its own location policies, as every replica must.
   */
  startReceiver?: boolean;
}

export interface RunningExampleApi {
  url: string;
  guard: ResourceGuard;
  receiver: SsfReceiver;
  close(): Promise<void>;
}

type ExampleApp = {
  receiver: SsfReceiver;
  guard: ResourceGuard;
  locationPolicies?: { start(): Promise<void> };
};

export async function startExampleApi(o: ExampleApiOptions): Promise<RunningExampleApi> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    OPENCAE_ISSUER_URL: o.issuerUrl,
    API_AUDIENCE: o.audience,
    PORT: String(port),
    SSF_CLIENT_ID: o.receiver.clientId,
    SSF_CLIENT_SECRET: o.receiver.clientSecret,
    SSF_DELIVERY: o.delivery,
    ...(o.redis ? { REDIS_URL: o.redis.url, REDIS_KEY_PREFIX: o.redis.keyPrefix } : {}),
  };
  const url = `http://127.0.0.1:${port}`;
  let example: ExampleApp;
  let stop: () => Promise<void>;
  if (o.framework === 'express') {
    const express = createExpressApp(configFromEnv(env));
    example = express;
    const server: Server = express.app.listen(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    stop = async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await express.close();
    };
  } else {
    const fastify = await createFastifyApp(configFromEnv(env));
    example = fastify;
    await fastify.app.listen({ port, host: '127.0.0.1' });
    stop = () => fastify.app.close();
  }
  if (o.startReceiver ?? true) {
    example.receiver.start();
    await example.receiver.connected();
  } else {
    await example.locationPolicies?.start();
  }
  return { url, guard: example.guard, receiver: example.receiver, close: stop };
}
