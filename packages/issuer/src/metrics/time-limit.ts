/** A bound on work done at scrape time: a slow database must not hold a Prometheus scrape open. */
export class TimeLimitError extends Error {
  readonly code = 'ERR_METRICS_TIME_LIMIT';
}

/** `work`, or a TimeLimitError after `ms`. The work is not cancelled; its late failure is ignored. */
export function withinTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  work.catch(() => {});
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
