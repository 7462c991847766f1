import { type PollRequest, pollResponseSchema } from '@opencae/protocol';
import { TransmitterRequestError } from '../errors.js';
import { backoffDelay, sleep } from './backoff.js';
import type { ReceiverHealth } from './health.js';
import type { SetProcessor } from './set-processor.js';
import type { StreamManager } from './stream-manager.js';
import type { TransmitterClient } from './transmitter-client.js';

export interface PollLoopOptions {
  client: TransmitterClient;
  streams: StreamManager;
  processor: SetProcessor;
  health: ReceiverHealth;
  maxEvents: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  now: () => number;
  signal: AbortSignal;
}

/**
 * RFC 8936 long polling: each request acknowledges what the previous answer delivered (`ack`) and
 * reports SETs that were refused (`setErrs`); a SET that could not be decided is neither, so the
 * transmitter delivers it again. Errors back off exponentially with jitter; a 404 re-creates the stream.
 * Aborting the signal ends the loop after flushing pending acknowledgements.
 */
export async function runPollLoop(o: PollLoopOptions): Promise<void> {
  let ack: string[] = [];
  let setErrs: NonNullable<PollRequest['setErrs']> = {};
  let failures = 0;
  while (!o.signal.aborted) {
    try {
      const stream = await o.streams.ensure();
      const endpoint = stream.delivery.endpoint_url;
      if (!endpoint) throw new TransmitterRequestError('the poll stream has no endpoint_url', 0);
      const body: PollRequest = { maxEvents: o.maxEvents, returnImmediately: false, ack, setErrs };
      const response = await o.client.request('POST', endpoint, body, o.signal);
      if (response.status === 404) {
        o.streams.forget();
        throw new TransmitterRequestError('the transmitter no longer knows the stream', 404);
      }
      const parsed = pollResponseSchema.safeParse(response.body);
      if (response.status !== 200 || !parsed.success) {
        throw new TransmitterRequestError(`polling failed (HTTP ${response.status})`, response.status);
      }
      ack = [];
      setErrs = {};
      failures = 0;
      o.health.lastContactAt = o.now();
      for (const [jti, jwt] of Object.entries(parsed.data.sets)) {
        const result = await o.processor.process(jwt);
        if (result.outcome === 'accepted' || result.outcome === 'duplicate') ack.push(jti);
        else if (result.outcome === 'rejected')
          setErrs[jti] = { err: result.err, description: result.description };
      }
    } catch (error) {
      if (o.signal.aborted) break;
      o.health.lastError = (error as Error).message;
      o.health.lastErrorAt = o.now();
      await sleep(backoffDelay(failures++, o.backoffBaseMs, o.backoffMaxMs), o.signal);
    }
  }
  await flush(o, ack, setErrs);
}

/** On shutdown, acknowledge what was processed so it is not delivered again. Best effort, bounded. */
async function flush(
  o: PollLoopOptions,
  ack: string[],
  setErrs: NonNullable<PollRequest['setErrs']>,
): Promise<void> {
  if (ack.length === 0 && Object.keys(setErrs).length === 0) return;
  try {
    const stream = await o.streams.ensure();
    if (!stream.delivery.endpoint_url) return;
    const body: PollRequest = { maxEvents: 0, returnImmediately: true, ack, setErrs };
    await o.client.request('POST', stream.delivery.endpoint_url, body, AbortSignal.timeout(2000));
  } catch {
    // The transmitter delivers them again; jti de-duplication makes that harmless.
  }
}
