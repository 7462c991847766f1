/** The sample API's configuration from environment variables (README.md), checked at start. */
import { z } from 'zod';
import type { SampleApiOptions } from './app.js';

const schema = z.object({
  OPENCAE_ISSUER_URL: z.url(),
  API_AUDIENCE: z.string().min(1),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  SSF_CLIENT_ID: z.string().min(1),
  SSF_CLIENT_SECRET: z.string().min(1),
  SSF_DELIVERY: z.enum(['push', 'poll']).default('push'),
  REDIS_URL: z.string().optional(),
  REDIS_KEY_PREFIX: z.string().min(1).optional(),
});

export function sampleApiOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleApiOptions {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new Error(
      `invalid environment:\n${z.prettifyError(parsed.error)}\nsee examples/sample-api/README.md`,
    );
  const e = parsed.data;
  return {
    issuer: e.OPENCAE_ISSUER_URL,
    audience: e.API_AUDIENCE,
    host: e.HOST,
    port: e.PORT,
    receiver: { clientId: e.SSF_CLIENT_ID, clientSecret: e.SSF_CLIENT_SECRET },
    delivery: e.SSF_DELIVERY,
    redisUrl: e.REDIS_URL || undefined,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
  };
}
