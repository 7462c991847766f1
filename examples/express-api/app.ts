/**
 * A CAE-enabled Express API: every request is checked against the issuer's keys, the revocation state
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
import { caeAuth } from '@opencae/resource/express';
import { createNodePushHandler } from '@opencae/resource/node';
import express, { type Express } from 'express';
import type { ExampleConfig } from './config.js';

const RETENTION_SECONDS = 28 * 3600 + 60;

export interface ExampleApp {
  app: Express;
  guard: ResourceGuard;
  receiver: SsfReceiver;
  close(): Promise<void>;
}

export function createExampleApp(config: ExampleConfig): ExampleApp {
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

  const app = express();
  // Outside the protected routes: the transmitter authenticates with the stream's secret.
  app.post('/ssf/push', createNodePushHandler(receiver));
  app.get('/health', (_req, res) => {
    res.json(receiver.health());
  });
  app.get('/me', caeAuth(guard), (req, res) => {
    res.json(req.auth!.claims);
  });

  return {
    app,
    guard,
    receiver,
    async close() {
      await receiver.stop();
      await store.close();
    },
  };
}
