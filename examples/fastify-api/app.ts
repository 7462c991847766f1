/**
 * A CAE-enabled Fastify API: every request is checked against the issuer's keys, the revocation state
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
import { caeFastify, ssfPushRoute } from '@opencae/resource/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ExampleConfig } from '../shared/config.js';

const RETENTION_SECONDS = 28 * 3600 + 60;

export interface ExampleApp {
  app: FastifyInstance;
  guard: ResourceGuard;
  receiver: SsfReceiver;
  /** Undefined with LOCATION_POLICIES=off. */
  locationPolicies: LocationPolicies | undefined;
}

export async function createExampleApp(config: ExampleConfig): Promise<ExampleApp> {
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
  return { app, guard, receiver, locationPolicies };
}
