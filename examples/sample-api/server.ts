/**
 * The sample API as a process. `opencae start` forks it with an IPC channel and waits for its
 * `{ type: 'ready', url }` message; it also runs on its own:
 * `npx tsx --conditions=opencae-source examples/sample-api/server.ts` (README.md).
 */
import { startSampleApi } from './app.js';
import { sampleApiOptionsFromEnv } from './config.js';

try {
  const api = await startSampleApi(sampleApiOptionsFromEnv());
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    api.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The parent went away (even without a signal): do not outlive it.
  process.once('disconnect', stop);
  if (process.send) process.send({ type: 'ready', url: api.url });
  else console.log(`OpenCAE sample API on ${api.url} (GET /me)`);
} catch (error) {
  console.error(`sample API: ${(error as Error).message}`);
  if (process.send) process.send({ type: 'failed', message: (error as Error).message });
  process.exit(1);
}
