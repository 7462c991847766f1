import { DELIVERY, OPENCAE, type PolicyChangedEvent, SSF } from '@opencae/protocol';
import { createRemoteJWKSet } from 'jose';
import { z } from 'zod';
import { TransmitterRequestError } from '../errors.js';
import { parseOptions } from '../options.js';
import { REVOCATION_EVENT_TYPES } from '../revocation/event-changes.js';
import type { RevocationStore } from '../revocation/revocation-store.js';
import { backoffDelay, sleep } from './backoff.js';
import { initialHealth, type ReceiverHealth } from './health.js';
import { runPollLoop } from './poll-loop.js';
import { createPushHandler, type PushRequest, type PushResponse } from './push-handler.js';
import { type SecurityEventListener, SetProcessor } from './set-processor.js';
import { type DeliveryRequest, StreamManager } from './stream-manager.js';
import { TransmitterClient } from './transmitter-client.js';

const url = z.url({ protocol: /^https?$/ });

const receiverOptionsSchema = z.strictObject({
  /** The transmitter's issuer URL (SSF metadata at `/.well-known/ssf-configuration`). */
  transmitter: url,
  /** Issuer of the access tokens this API accepts, to match `iss_sub` subjects; default: the transmitter. */
  tokenIssuer: url.optional(),
  /** The `aud` the transmitter puts in SETs for this receiver; default: the stream's `aud`. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  tokenEndpoint: url.optional(),
  scope: z.string().min(1).default('ssf.manage ssf.read'),
  delivery: z.discriminatedUnion('method', [
    z.strictObject({
      method: z.literal('push'),
      /** Where this API mounts the push handler, as the transmitter reaches it. */
      endpointUrl: url,
      /** The exact Authorization header value the transmitter must send (e.g. `Bearer <random secret>`). */
      authorizationHeader: z.string().min(16, 'use at least 16 characters of secret'),
    }),
    z.strictObject({
      method: z.literal('poll'),
      maxEvents: z.number().int().positive().max(1000).default(100),
    }),
  ]),
  store: z.custom<RevocationStore>(
    (v) => typeof v === 'object' && v !== null && typeof (v as RevocationStore).apply === 'function',
    'must implement RevocationStore',
  ),
  /**
   * Conditional Access location policies (`createLocationPolicies`): the receiver starts their sync with
   * its own start (retrying with backoff until the first document loads; `connected()` waits for it),
   * hands them every OpenCAE policy-changed SET, push or poll, and stops them on stop.
   */
  locationPolicies: z
    .custom<PolicyChangeTarget>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as PolicyChangeTarget).onPolicyChanged === 'function' &&
        typeof (v as PolicyChangeTarget).start === 'function' &&
        typeof (v as PolicyChangeTarget).close === 'function',
      'must have onPolicyChanged, start and close (see createLocationPolicies)',
    )
    .optional(),
  /** Event types requested in addition to those that change revocation state and the SSF ones. */
  extraEventTypes: z.array(z.string().min(1)).default([OPENCAE.policyChanged]),
  description: z.string().default('OpenCAE resource receiver'),
  /** How often to re-read the stream status and ask for a verification event (0: only at start). */
  verificationIntervalSeconds: z.number().int().min(0).default(600),
  jtiMemorySize: z.number().int().positive().default(100_000),
  jtiMemorySeconds: z
    .number()
    .int()
    .positive()
    .default(7 * 86_400),
  clockToleranceSeconds: z.number().int().min(0).default(300),
  requestTimeoutMs: z.number().int().positive().default(90_000),
  backoffBaseMs: z.number().int().positive().default(500),
  backoffMaxMs: z.number().int().positive().default(60_000),
  now: z.custom<() => number>((v) => typeof v === 'function').default(() => Date.now),
});

/** What the receiver drives: `LocationPolicies` from createLocationPolicies. */
export interface PolicyChangeTarget {
  onPolicyChanged(event: PolicyChangedEvent): void;
  start(): Promise<void>;
  close(): void;
}

export type SsfReceiverOptions = z.input<typeof receiverOptionsSchema>;

export interface SsfReceiver {
  /** Sets up the stream and starts delivery (poll loop, or periodic checks for push). Returns at once. */
  start(): void;
  /** Stops background work: the poll loop ends cleanly (acknowledging what it processed). */
  stop(): Promise<void>;
  /**
   * Resolves once the stream exists at the transmitter and, with `locationPolicies`, their first document
   * has loaded (rejects if the receiver stops first).
   */
  connected(): Promise<void>;
  /** RFC 8935 push endpoint; only for push delivery. */
  handlePush(request: PushRequest): Promise<PushResponse>;
  /** Registers a listener for every verified, first-seen SET; returns the unsubscribe function. */
  onEvent(listener: SecurityEventListener): () => void;
  health(): ReceiverHealth;
}

/** An SSF 1.0 receiver that turns CAEP / RISC events into revocation state. Validates its options at once. */
export function createSsfReceiver(input: SsfReceiverOptions): SsfReceiver {
  const options = parseOptions(receiverOptionsSchema, input, 'SSF receiver');
  const pushMode = options.delivery.method === 'push';
  const health = initialHealth(pushMode ? 'push' : 'poll');
  const client = new TransmitterClient({
    transmitter: options.transmitter,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    tokenEndpoint: options.tokenEndpoint,
    scope: options.scope,
    requestTimeoutMs: options.requestTimeoutMs,
    now: options.now,
  });
  const delivery: DeliveryRequest =
    options.delivery.method === 'push'
      ? {
          method: DELIVERY.push,
          endpointUrl: options.delivery.endpointUrl,
          authorizationHeader: options.delivery.authorizationHeader,
        }
      : { method: DELIVERY.poll };
  const eventTypes = [
    ...new Set([...REVOCATION_EVENT_TYPES, SSF.verification, SSF.streamUpdated, ...options.extraEventTypes]),
  ];
  const streams = new StreamManager(client, {
    delivery,
    eventTypes,
    description: options.description,
    health,
  });
  const listeners = new Set<SecurityEventListener>();
  const policies = options.locationPolicies;
  // First among listeners: the version bump takes effect before any user listener runs.
  if (policies) {
    listeners.add((set) => {
      if (set.eventType === OPENCAE.policyChanged) policies.onPolicyChanged(set.event as PolicyChangedEvent);
    });
  }

  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  const processor = new SetProcessor({
    async key() {
      if (!keys) {
        const { jwks_uri } = await client.metadata();
        if (!jwks_uri) throw new TransmitterRequestError('the transmitter metadata has no jwks_uri', 0);
        keys = createRemoteJWKSet(new URL(jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      }
      return keys;
    },
    issuer: async () => (await client.metadata()).issuer,
    audience: async () => options.audience ?? (await streams.ensure()).aud,
    tokenIssuer: options.tokenIssuer ?? options.transmitter,
    store: options.store,
    health,
    listeners,
    jtiMemorySize: options.jtiMemorySize,
    jtiMemorySeconds: options.jtiMemorySeconds,
    clockToleranceSeconds: options.clockToleranceSeconds,
    now: options.now,
  });
  const push =
    options.delivery.method === 'push'
      ? createPushHandler(processor, options.delivery.authorizationHeader, () => {
          health.lastContactAt = options.now();
        })
      : undefined;

  let controller: AbortController | undefined;
  let work: Promise<void> | undefined;
  let connected = deferred();
  let stopped = false;

  const recordError = (error: unknown) => {
    health.lastError = (error as Error).message;
    health.lastErrorAt = options.now();
  };

  // connected() resolves once the stream exists and, with location policies, their first document loaded.
  let streamReady = false;
  let policiesReady = policies === undefined;
  const markReady = (part: 'stream' | 'policies') => {
    if (part === 'stream') streamReady = true;
    else policiesReady = true;
    if (streamReady && policiesReady) connected.resolve();
  };

  /** Load the first policy document, retrying with backoff; the client refreshes on its own after that. */
  async function syncPolicies(target: PolicyChangeTarget, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await target.start();
        if (!signal.aborted) markReady('policies');
        return;
      } catch (error) {
        if (signal.aborted) return;
        recordError(error);
        await sleep(backoffDelay(failures++, options.backoffBaseMs, options.backoffMaxMs), signal);
      }
    }
  }

  /** Set up the stream (retrying with backoff), then keep status and verification fresh. */
  async function maintain(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await streams.ensure();
        markReady('stream');
        await streams.requestVerification();
        failures = 0;
        if (options.verificationIntervalSeconds === 0) return;
        await sleep(options.verificationIntervalSeconds * 1000, signal);
        if (!signal.aborted) await streams.refreshStatus();
      } catch (error) {
        if (signal.aborted) return;
        recordError(error);
        await sleep(backoffDelay(failures++, options.backoffBaseMs, options.backoffMaxMs), signal);
      }
    }
  }

  return {
    start() {
      if (controller) return;
      controller = new AbortController();
      // After a stop, connected() stays rejected until the receiver is started again.
      if (stopped) connected = deferred();
      stopped = false;
      streamReady = false;
      policiesReady = policies === undefined;
      health.running = true;
      const { signal } = controller;
      const tasks = [maintain(signal)];
      if (policies) tasks.push(syncPolicies(policies, signal));
      if (!pushMode) {
        tasks.push(
          runPollLoop({
            client,
            streams,
            processor,
            health,
            maxEvents: options.delivery.method === 'poll' ? options.delivery.maxEvents : 100,
            backoffBaseMs: options.backoffBaseMs,
            backoffMaxMs: options.backoffMaxMs,
            now: options.now,
            signal,
          }),
        );
      }
      work = Promise.all(tasks).then(() => undefined);
    },
    async stop() {
      if (!controller) return;
      controller.abort();
      await work;
      policies?.close();
      controller = undefined;
      health.running = false;
      // Waiters learn of the stop; later callers too, even if the stream had been connected.
      const error = new Error('the receiver stopped');
      connected.reject(error);
      connected = deferred();
      connected.reject(error);
      stopped = true;
    },
    connected: () => connected.promise,
    async handlePush(request) {
      if (!push) throw new TypeError('handlePush is only available with push delivery');
      return push(request);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    health: () => ({ ...health }),
  };
}

/** A promise with its resolvers (Promise.withResolvers needs Node 22). Unhandled rejection is not an error here. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
