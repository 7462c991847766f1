/**
 * The sample CAE-enabled API (examples/sample-api) in its own process: a resource talks to the issuer
 * only over HTTP (token keys, SSF stream, policy sync), exactly as a separately deployed API would, and
 * a crash in one never takes the other down.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DemoTenant } from '../demo-tenant/demo-file.js';
import { CliError } from '../errors.js';
import { forkTypescript, type TypescriptChild } from './typescript-child.js';

/** Found beside the CLI's sources in the repository (examples are not published). */
export const SAMPLE_API_ENTRY = fileURLToPath(
  new URL('../../../../examples/sample-api/server.ts', import.meta.url),
);

export interface SampleApiProcess {
  url: string;
  stop(): Promise<void>;
  child: TypescriptChild<{ type: 'ready'; url: string }>;
}

export async function startSampleApiProcess(o: {
  tenant: DemoTenant;
  host: string;
  port: number;
  redisUrl?: string | undefined;
  delivery?: 'push' | 'poll';
  /** Capture the child's output instead of sharing the terminal (shown only if it fails). */
  silent?: boolean;
  env: Record<string, string | undefined>;
}): Promise<SampleApiProcess> {
  if (!existsSync(SAMPLE_API_ENTRY))
    throw new CliError(`the sample API is not here (${SAMPLE_API_ENTRY}): it ships with the repository`);
  const env: NodeJS.ProcessEnv = {
    // Only what a Node process needs from the parent, plus the API's own configuration.
    PATH: o.env.PATH,
    HOME: o.env.HOME,
    NODE_OPTIONS: o.env.NODE_OPTIONS,
    OPENCAE_ISSUER_URL: o.tenant.issuer,
    API_AUDIENCE: o.tenant.api.audience,
    HOST: o.host,
    PORT: String(o.port),
    SSF_CLIENT_ID: o.tenant.receiver.client_id,
    SSF_CLIENT_SECRET: o.tenant.receiver.client_secret,
    SSF_DELIVERY: o.delivery ?? 'push',
    ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = await forkTypescript<{ type: 'ready'; url: string }>(SAMPLE_API_ENTRY, [], {
    env,
    what: 'the sample API',
    silent: o.silent ?? false,
  });
  return { url: child.ready.url, stop: () => child.stop(), child };
}
