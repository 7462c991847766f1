/**
 * Retry delay after a failed push: exponential (base·2^(attempt−1), capped) with jitter, so receivers
 * that come back after an outage are not hit by every transmitter at the same instant.
 */
export function retryDelayMs(
  attempt: number,
  options: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const exponential = options.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(options.maxDelayMs, exponential);
  // "Equal jitter": at least half the delay, so retries still back off.
  return Math.round(capped / 2 + random() * (capped / 2));
}
