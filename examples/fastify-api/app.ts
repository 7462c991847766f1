/**
 * A CAE-enabled Fastify API: every request is checked against the issuer's keys, the revocation state
 * fed by the SSF receiver, and (when configured) location policy. GET /me returns the verified claims.
 */
import {
  createResourceGuard,
  createSsfReceiver,
  MemoryRevocationStore,
  RedisRevocationStore,
  type ResourceGuard,
  type RevocationStore,
  type SsfReceiver,
} from '@opencae/resource';
import { caeFastify, ssfPushRoute } from '@opencae/resource/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ExampleConfig } from './config.js';

const RETENTION_SECONDS = 28 * 3600 + 60;

export interface ExampleApp {
  app: FastifyInstance;
  guard: ResourceGuard;
  receiver: SsfReceiver;
}

export async function createExampleApp(config: ExampleConfig): Promise<ExampleApp> {
  const store: RevocationStore = config.redisUrl
    ? new RedisRevocationStore({
        redis: config.redisUrl,
        retentionSeconds: RETENTION_SECONDS,
        ...(config.redisKeyPrefix ? { keyPrefix: config.redisKeyPrefix } : {}),
      })
    : new MemoryRevocationStore({ retentionSeconds: RETENTION_SECONDS });
  const guard = createResourceGuard({
    issuer: config.issuer,
    audience: config.audience,
    store,
    trustedProxies: config.trustedProxies,
  });
  const receiver = createSsfReceiver({
    transmitter: config.issuer,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    store,
    delivery:
      config.delivery === 'push'
        ? { method: 'push', endpointUrl: config.pushUrl, authorizationHeader: config.pushAuthorization }
        : { method: 'poll' },
  });

  const app = Fastify();
  // Outside the protected scope: the transmitter authenticates with the stream's secret.
  await app.register(ssfPushRoute, { receiver, path: '/ssf/push' });
  app.get('/health', async () => receiver.health());
  await app.register(async (api) => {
    await api.register(caeFastify, { guard });
    api.get('/me', async (request) => request.auth!.claims);
  });
  app.addHook('onClose', async () => {
    await receiver.stop();
    await store.close();
  });
  return { app, guard, receiver };
}
