/**
 * A CAE-enabled Express API: every request is checked against the issuer's keys, the revocation state
 * fed by the SSF receiver, and the issuer's Conditional Access location policies for this API (unless
 * LOCATION_POLICIES=off). GET /me returns the verified claims.
 */
import {
  createLocationPolicies,
  createResourceGuard,
  createSsfReceiver,
  type LocationPolicies,
  MemoryRevocationStore,
  RedisRevocationStore,
  type ResourceGuard,
  type RevocationStore,
  type SsfReceiver,
} from '@opencae/resource';
import { caeAuth } from '@opencae/resource/express';
import { createNodePushHandler } from '@opencae/resource/node';
import express, { type Express } from 'express';
import type { ExampleConfig } from '../shared/config.js';

const RETENTION_SECONDS = 28 * 3600 + 60;

export interface ExampleApp {
  app: Express;
  guard: ResourceGuard;
  receiver: SsfReceiver;
  /** Undefined with LOCATION_POLICIES=off. */
  locationPolicies: LocationPolicies | undefined;
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
  // Fetched with the receiver app's client credentials (ssf.read); the receiver starts them, hands them
  // the policy-changed SETs and stops them.
  const locationPolicies = config.locationPolicies
    ? createLocationPolicies({
        issuer: config.issuer,
        audience: config.audience,
        credentials: { clientId: config.clientId, clientSecret: config.clientSecret },
      })
    : undefined;
  const guard = createResourceGuard({
    issuer: config.issuer,
    audience: config.audience,
    store,
    trustedProxies: config.trustedProxies,
    location: locationPolicies?.enforcer,
  });
  const receiver = createSsfReceiver({
    transmitter: config.issuer,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    store,
    locationPolicies,
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
    locationPolicies,
    async close() {
      await receiver.stop();
      await store.close();
    },
  };
}
