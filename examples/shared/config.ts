/** The Express and Fastify examples' configuration, from environment variables (documented in their READMEs), checked at start. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const schema = z.object({
  OPENCAE_ISSUER_URL: z.url(),
  API_AUDIENCE: z.string().min(1),
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  SSF_CLIENT_ID: z.string().min(1),
  SSF_CLIENT_SECRET: z.string().min(1),
  SSF_DELIVERY: z.enum(['push', 'poll']).default('poll'),
  /** Public URL of this API's push endpoint, as the transmitter reaches it. */
  SSF_PUSH_URL: z.url().optional(),
  /** Secret the transmitter must present on push; a random one per start when unset. */
  SSF_PUSH_SECRET: z.string().min(16).optional(),
  REDIS_URL: z.string().optional(),
  /** Prefix of the revocation keys and channel in Redis: one per API sharing a Redis. */
  REDIS_KEY_PREFIX: z.string().min(1).optional(),
  /** Comma-separated proxies whose X-Forwarded-For is believed (IPs, CIDRs, loopback, uniquelocal). */
  TRUSTED_PROXIES: z.string().default(''),
  /**
   * Conditional Access location policies, synced from the issuer with the receiver's credentials and
   * enforced on every request: `on` (default) or `off` (issuers that do not serve them).
   */
  LOCATION_POLICIES: z.enum(['on', 'off']).default('on'),
});

export type ExampleConfig = {
  issuer: string;
  audience: string;
  port: number;
  clientId: string;
  clientSecret: string;
  delivery: 'push' | 'poll';
  pushUrl: string;
  pushAuthorization: string;
  redisUrl: string | undefined;
  redisKeyPrefix: string | undefined;
  trustedProxies: string[];
  locationPolicies: boolean;
};

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid environment:\n${z.prettifyError(parsed.error)}\nsee README.md for the variables`,
    );
  }
  const e = parsed.data;
  return {
    issuer: e.OPENCAE_ISSUER_URL,
    audience: e.API_AUDIENCE,
    port: e.PORT,
    clientId: e.SSF_CLIENT_ID,
    clientSecret: e.SSF_CLIENT_SECRET,
    delivery: e.SSF_DELIVERY,
    pushUrl: e.SSF_PUSH_URL ?? `http://127.0.0.1:${e.PORT}/ssf/push`,
    pushAuthorization: `Bearer ${e.SSF_PUSH_SECRET ?? randomBytes(32).toString('base64url')}`,
    redisUrl: e.REDIS_URL || undefined,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    trustedProxies: e.TRUSTED_PROXIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    locationPolicies: e.LOCATION_POLICIES === 'on',
  };
}
