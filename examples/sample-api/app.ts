/**
 * The sample CAE-enabled API that `opencae start` runs beside the issuer: plain node:http with the
 * resource SDK. Every request to GET /me is checked against the issuer's keys, the revocation state the
 * SSF receiver keeps, and the location (IP) policies synced from the issuer for this API's audience.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenCaeClient } from '@opencae/client';
import { OPENCAE } from '@opencae/protocol';
import {
  createLocationEnforcer,
  createResourceGuard,
  createSsfReceiver,
  LocationPolicyClient,
  MemoryRevocationStore,
  type PolicyChangedEvent,
  RedisRevocationStore,
  type RevocationStore,
  type SsfReceiver,
} from '@opencae/resource';
import { createNodeGuard, createNodePushHandler } from '@opencae/resource/node';

/** Revocation state must outlive the longest token (28 h CAE tokens). */
const RETENTION_SECONDS = 28 * 3600 + 60;

export interface SampleApiOptions {
  issuer: string;
  audience: string;
  /** The SSF receiver application (ssf.manage + ssf.read); also reads the location policies. */
  receiver: { clientId: string; clientSecret: string };
  host: string;
  /** 0 picks a free port. */
  port: number;
  delivery: 'push' | 'poll';
  /** Shared revocation state for several replicas; in memory when absent. */
  redisUrl?: string | undefined;
  redisKeyPrefix?: string | undefined;
}

export interface RunningSampleApi {
  url: string;
  receiver: SsfReceiver;
  policies: LocationPolicyClient;
  close(): Promise<void>;
}

export async function startSampleApi(options: SampleApiOptions): Promise<RunningSampleApi> {
  const store: RevocationStore = options.redisUrl
    ? new RedisRevocationStore({
        redis: options.redisUrl,
        retentionSeconds: RETENTION_SECONDS,
        keyPrefix: options.redisKeyPrefix ?? 'opencae:sample-api:',
      })
    : new MemoryRevocationStore({ retentionSeconds: RETENTION_SECONDS });
  // The receiver's own credentials read the policy document (ssf.read, docs/conditional-access.md).
  const ssfClient = new OpenCaeClient({
    issuer: options.issuer,
    clientId: options.receiver.clientId,
    clientSecret: options.receiver.clientSecret,
    scopes: 'urn:opencae:ssf/.default',
    capabilities: [],
  });
  const policies = new LocationPolicyClient({
    issuer: options.issuer,
    audience: options.audience,
    accessToken: async () => (await ssfClient.getAccessToken()).token,
    onError: (error) => console.error(`sample API: ${error.message}`),
  });
  const authenticate = createNodeGuard(
    createResourceGuard({
      issuer: options.issuer,
      audience: options.audience,
      store,
      location: createLocationEnforcer(policies),
    }),
  );

  // The push URL needs the port, so listen before the receiver registers its stream.
  let receiver: SsfReceiver | undefined;
  let pushHandler: ReturnType<typeof createNodePushHandler> | undefined;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'POST' && path === '/ssf/push' && pushHandler) return pushHandler(req, res);
    if (req.method === 'GET' && path === '/health') {
      return json(res, 200, {
        receiver: receiver?.health(),
        locationPolicies: policies.rules
          ? { loaded: true, policyVersion: policies.rules.document.policyVersion }
          : { loaded: false },
      });
    }
    if (req.method === 'GET' && path === '/me') {
      void authenticate(req, res).then(
        (auth) => auth && json(res, 200, auth.claims),
        () => json(res, 500, { error: 'server_error' }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/') {
      return json(res, 200, {
        name: 'OpenCAE sample API',
        audience: options.audience,
        routes: {
          'GET /me': 'your verified token claims (Bearer token required)',
          'GET /health': 'receiver state',
        },
      });
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;

  receiver = createSsfReceiver({
    transmitter: options.issuer,
    clientId: options.receiver.clientId,
    clientSecret: options.receiver.clientSecret,
    store,
    description: `OpenCAE sample API (${options.audience})`,
    delivery:
      options.delivery === 'push'
        ? {
            method: 'push',
            endpointUrl: `${url}/ssf/push`,
            // A fresh secret per start; the receiver updates the stream with it.
            authorizationHeader: `Bearer ${crypto.randomUUID()}${crypto.randomUUID()}`,
          }
        : { method: 'poll' },
  });
  if (options.delivery === 'push') pushHandler = createNodePushHandler(receiver);
  receiver.onEvent((set) => {
    if (set.eventType === OPENCAE.policyChanged) policies.onPolicyChanged(set.event as PolicyChangedEvent);
  });

  try {
    await policies.start();
    receiver.start();
    await receiver.connected();
  } catch (error) {
    await closeAll(server, receiver, policies, store);
    throw error;
  }
  return {
    url,
    receiver,
    policies,
    close: () => closeAll(server, receiver, policies, store),
  };
}

async function closeAll(
  server: Server,
  receiver: SsfReceiver | undefined,
  policies: LocationPolicyClient,
  store: RevocationStore,
): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await receiver?.stop();
  policies.close();
  await store.close();
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
