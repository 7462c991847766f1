/**
 * Conditional Access location enforcement in one call: the policy sync client (authenticated with the
 * receiver app's client credentials), the enforcer to give the guard, and the hook for the OpenCAE
 * policy-changed SET to give the SSF receiver.
 *
 * ```ts
 * const policies = createLocationPolicies({ issuer, audience, credentials: { clientId, clientSecret } });
 * const guard = createResourceGuard({ issuer, audience, location: policies.enforcer });
 * const receiver = createSsfReceiver({ ..., locationPolicies: policies }); // starts, refreshes, stops them
 * ```
 */
import { z } from 'zod';
import { ClientCredentialsTokens } from '../client-credentials.js';
import { parseOptions } from '../options.js';
import type { LocationPolicySyncError } from './errors.js';
import { ConditionalAccessLocationEnforcer } from './location-enforcer.js';
import { LocationPolicyClient, type PolicyChangedEvent } from './policy-client.js';

const isFunction = (value: unknown) => typeof value === 'function';
const url = z.url({ protocol: /^https?$/ });

const locationPoliciesOptionsSchema = z.strictObject({
  /** The OpenCAE issuer (its `iss`): the policy sync endpoint and the token endpoint are found from it. */
  issuer: url,
  /** This API's audience: the document holds the policies that target it. */
  audience: z.string().min(1),
  /**
   * Client credentials of the app the API's SSF receiver uses (granted `ssf.read` on `urn:opencae:ssf`),
   * or a function returning such a token.
   */
  credentials: z.union([
    z.strictObject({
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      tokenEndpoint: url.optional(),
      /** Least privilege: reading the document needs `ssf.read` only. */
      scope: z.string().min(1).default('ssf.read'),
    }),
    z.strictObject({ accessToken: z.custom<() => Promise<string>>(isFunction, 'must be a function') }),
  ]),
  /** Safety-net conditional refresh; 0 disables it (events still refresh at once). Default 5 minutes. */
  refreshIntervalMs: z
    .number()
    .int()
    .min(0)
    .default(5 * 60_000),
  timeoutMs: z.number().int().positive().default(10_000),
  /** Replaces `<issuer>/conditional-access/v1/location-policies`. */
  endpoint: url.optional(),
  /** Let requests through while no document has loaded yet (default: refuse them with 503). */
  allowWithoutPolicies: z.boolean().default(false),
  /** Refresh failures (the last good document stays in force). */
  onError: z.custom<(error: LocationPolicySyncError) => void>(isFunction, 'must be a function').optional(),
  /** Current time in milliseconds; for tests. */
  now: z.custom<() => number>(isFunction, 'must be a function').default(() => Date.now),
});

export type LocationPoliciesOptions = z.input<typeof locationPoliciesOptionsSchema>;

export interface LocationPolicies {
  /** Give it to the guard: `createResourceGuard({ ..., location: policies.enforcer })`. */
  readonly enforcer: ConditionalAccessLocationEnforcer;
  /** The sync client (current rules, required version, manual refresh). */
  readonly client: LocationPolicyClient;
  /** The hook for OpenCAE policy-changed SETs; the SSF receiver calls it when given `locationPolicies`. */
  onPolicyChanged(event: PolicyChangedEvent): void;
  /** Fetches the first document (rejects with LocationPolicySyncError if it cannot) and starts the refresh timer. */
  start(): Promise<void>;
  /** Stops the refresh timer. */
  close(): void;
}

/** Validates its options at once (ResourceConfigError); fetches nothing until `start()`. */
export function createLocationPolicies(input: LocationPoliciesOptions): LocationPolicies {
  const options = parseOptions(locationPoliciesOptionsSchema, input, 'location policies');
  const { credentials } = options;
  let accessToken: () => Promise<string>;
  let dropAccessToken: (() => void) | undefined;
  if ('accessToken' in credentials) {
    accessToken = credentials.accessToken;
  } else {
    const tokens = new ClientCredentialsTokens({
      issuer: options.issuer,
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      tokenEndpoint: credentials.tokenEndpoint,
      scope: credentials.scope,
      requestTimeoutMs: options.timeoutMs,
      now: options.now,
    });
    accessToken = () => tokens.accessToken();
    dropAccessToken = () => tokens.drop();
  }
  const client = new LocationPolicyClient({
    issuer: options.issuer,
    audience: options.audience,
    accessToken,
    dropAccessToken,
    refreshIntervalMs: options.refreshIntervalMs,
    timeoutMs: options.timeoutMs,
    endpoint: options.endpoint,
    onError: options.onError,
  });
  const enforcer = new ConditionalAccessLocationEnforcer(client, {
    allowWithoutPolicies: options.allowWithoutPolicies,
  });
  return {
    enforcer,
    client,
    onPolicyChanged: (event) => client.onPolicyChanged(event),
    start: () => client.start(),
    close: () => client.close(),
  };
}
