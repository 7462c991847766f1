/**
 * A daemon that calls a CAE-enabled API over and over with client credentials, printing what happens:
 * each call's status, claims challenges answered, and the typed error when the issuer refuses.
 *
 *   OPENCAE_ISSUER_URL=http://127.0.0.1:4000 CLIENT_ID=… CLIENT_SECRET=… \
 *   API_URL=http://127.0.0.1:5000/orders SCOPE=api://orders/.default \
 *   npx tsx --conditions=opencae-source examples/daemon/daemon.ts
 *
 * Optional: INTERVAL_MS (default 2000), TOKEN_STORE_DIR (keep tokens across restarts).
 */
import { pathToFileURL } from 'node:url';
import { type FetchLike, FileTokenStore, OpenCaeClient, type OpenCaeClientOptions } from '@opencae/client';
import { OpenCaeError } from '@opencae/protocol';

export interface DaemonOptions {
  env: Record<string, string | undefined>;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Stop after this many calls (tests); default: until the signal aborts. */
  iterations?: number;
  /** Overrides for the client (tests pass a fake transport and clock). */
  client?: Partial<OpenCaeClientOptions> & { fetch?: FetchLike };
}

const REQUIRED = ['OPENCAE_ISSUER_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'API_URL', 'SCOPE'] as const;

export async function runDaemon(o: DaemonOptions): Promise<void> {
  const missing = REQUIRED.filter((name) => !o.env[name]);
  if (missing.length > 0) throw new Error(`missing environment variables: ${missing.join(', ')}`);
  const apiUrl = o.env.API_URL!;
  const interval = Number(o.env.INTERVAL_MS ?? 2000);
  const client = new OpenCaeClient({
    issuer: o.env.OPENCAE_ISSUER_URL!,
    clientId: o.env.CLIENT_ID!,
    clientSecret: o.env.CLIENT_SECRET!,
    scopes: o.env.SCOPE!,
    ...(o.env.TOKEN_STORE_DIR && { store: new FileTokenStore({ directory: o.env.TOKEN_STORE_DIR }) }),
    onChallenge: ({ challenge }) =>
      o.log(
        `challenge  ${challenge.error ?? '-'}: ${challenge.errorDescription ?? ''} → asking the issuer again`,
      ),
    onBackgroundError: (error) => o.log(`background ${describe(error)}`),
    ...o.client,
  });
  o.log(`daemon     calling ${apiUrl} every ${interval} ms as ${client.clientId}`);
  for (let call = 1; o.iterations === undefined || call <= o.iterations; call++) {
    if (o.signal?.aborted) break;
    const started = performance.now();
    try {
      const response = await client.fetch(apiUrl, { signal: o.signal ?? null });
      const ms = Math.round(performance.now() - started);
      const body = (await response.text()).slice(0, 80).replace(/\s+/g, ' ');
      o.log(`call ${call}  HTTP ${response.status} in ${ms} ms ${body}`);
    } catch (error) {
      if (o.signal?.aborted) break;
      o.log(`call ${call}  failed: ${describe(error)}`);
    }
    if (interval > 0) await sleep(interval, o.signal);
  }
  o.log('daemon     stopped');
}

function describe(error: unknown): string {
  if (error instanceof OpenCaeError) return `${error.code} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  runDaemon({
    env: process.env,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
    signal: controller.signal,
  }).catch((error: unknown) => {
    console.error(describe(error));
    process.exitCode = 1;
  });
}
