/** Tunables of the transmitter, with production defaults; tests shorten the timers. */

export interface SsfOptions {
  /**
   * Push URL allow-list. Host entries (`receiver.example.com`, `*.example.com`) restrict push URLs to
   * those hosts and let them resolve to private addresses; CIDR entries (`10.0.0.0/8`) permit
   * addresses in those ranges (the only way to reach link-local / metadata ranges).
   */
  pushAllowList?: readonly string[];
  /** Timeout of one push request (connect + answer). */
  pushTimeoutMs?: number;
  /** Exponential backoff of push retries, with jitter. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** After this many attempts a push delivery moves to the dead-letter state. */
  maxPushAttempts?: number;
  /** How long a long poll waits for a SET before answering with none. */
  longPollMaxWaitMs?: number;
  /** A SET handed out by a poll and not acknowledged is handed out again after this delay. */
  pollRedeliveryMs?: number;
  /** `min_verification_interval` of new streams, in seconds. */
  minVerificationIntervalSeconds?: number;
  /** Slow timer that re-runs dispatch and delivery in case a notification was missed. */
  safetySweepMs?: number;
  /** Outbox rows per dispatch transaction; push deliveries per worker claim. */
  batchSize?: number;
  /** Concurrent push requests per process. */
  pushConcurrency?: number;
  /** The transmitter's JWKS URL (defaults to `<issuer>/jwks`, served by the token service). */
  jwksUri?: string;
}

export type ResolvedSsfOptions = Required<Omit<SsfOptions, 'jwksUri'>> & { jwksUri?: string };

export function resolveSsfOptions(options: SsfOptions = {}): ResolvedSsfOptions {
  return {
    pushAllowList: options.pushAllowList ?? [],
    pushTimeoutMs: options.pushTimeoutMs ?? 10_000,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1_000,
    retryMaxDelayMs: options.retryMaxDelayMs ?? 15 * 60_000,
    maxPushAttempts: options.maxPushAttempts ?? 15,
    longPollMaxWaitMs: options.longPollMaxWaitMs ?? 30_000,
    pollRedeliveryMs: options.pollRedeliveryMs ?? 30_000,
    minVerificationIntervalSeconds: options.minVerificationIntervalSeconds ?? 30,
    safetySweepMs: options.safetySweepMs ?? 30_000,
    batchSize: options.batchSize ?? 100,
    pushConcurrency: options.pushConcurrency ?? 16,
    ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
  };
}

/** Options from the environment: OPENCAE_SSF_PUSH_ALLOW_LIST (comma-separated hosts and CIDRs). */
export function ssfOptionsFromEnvironment(env: Record<string, string | undefined>): SsfOptions {
  const allowList = env.OPENCAE_SSF_PUSH_ALLOW_LIST?.split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return allowList?.length ? { pushAllowList: allowList } : {};
}
