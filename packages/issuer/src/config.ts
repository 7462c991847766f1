/** Issuer configuration: validated once at start, with messages that say what is wrong. */
import { resolve } from 'node:path';
import { z } from 'zod';

const lifetimeRange = z
  .object({ minSeconds: z.number().int().positive(), maxSeconds: z.number().int().positive() })
  .refine((range) => range.minSeconds <= range.maxSeconds, 'minSeconds must not exceed maxSeconds');

export const issuerConfigSchema = z.object({
  /** The public URL of the issuer (`iss`); behind a TLS proxy, its https:// URL. */
  issuerUrl: z.url().refine((url) => !url.endsWith('/'), 'issuerUrl must not end with /'),
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().default('127.0.0.1'),
  /** Folder of the embedded store and of admin.json. */
  dataDir: z.string().default('.opencae'),
  /** PostgreSQL instead of the embedded store. */
  databaseUrl: z.string().optional(),
  /** Trust X-Forwarded-* only from these proxies (true = any, only for a proxy-only network). */
  trustProxy: z.union([z.boolean(), z.array(z.string())]).default(false),
  /** Development mode: allows http:// loopback push URLs and redirect URIs. */
  devMode: z.boolean().default(false),
  /**
   * The bearer token a Prometheus scraper must send to `GET /metrics`; without it the endpoint is off.
   * The messages never quote the value: a config error must not print a secret.
   */
  metricsToken: z
    .string()
    .min(16, 'metricsToken must be at least 16 characters (e.g. openssl rand -hex 32)')
    .regex(
      /^[A-Za-z0-9\-._~+/]+=*$/,
      'metricsToken may hold letters, digits and - . _ ~ + / (then = padding): RFC 6750 Bearer token characters',
    )
    .optional(),
  /**
   * The key ring that encrypts secrets at rest: `<id>:<base64 of 32 bytes>` entries separated by
   * commas, the first one encrypting. Without it an embedded store uses `<dataDir>/secrets.key`
   * (created on first start) and a PostgreSQL store keeps its secrets unencrypted (with a warning).
   * Checked when the issuer starts; messages never quote it.
   */
  secretsKeys: z.string().min(1, 'secretsKeys must not be empty').optional(),
  lifetimes: z
    .object({
      /** CAE-capable client + CAE-enabled API: 20–28 h, randomized per token. */
      cae: lifetimeRange.default({ minSeconds: 20 * 3600, maxSeconds: 28 * 3600 }),
      /** Everything else: 60–90 min. */
      standard: lifetimeRange.default({ minSeconds: 3600, maxSeconds: 5400 }),
    })
    .default({
      cae: { minSeconds: 20 * 3600, maxSeconds: 28 * 3600 },
      standard: { minSeconds: 3600, maxSeconds: 5400 },
    }),
});

export type IssuerConfigInput = z.input<typeof issuerConfigSchema>;
export type IssuerConfig = z.output<typeof issuerConfigSchema>;

export function parseIssuerConfig(input: IssuerConfigInput): IssuerConfig {
  const result = issuerConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
    throw new TypeError(`invalid issuer configuration: ${problems.join('; ')}`);
  }
  return { ...result.data, dataDir: resolveDataDir(result.data.dataDir) };
}

/** A folder becomes an absolute path; `memory://` (the in-memory embedded store) stays as it is. */
export function resolveDataDir(dataDir: string): string {
  return dataDir.startsWith('memory://') ? dataDir : resolve(dataDir);
}

/** The longest lifetime a token of this issuer can have: how long revocation state must be kept. */
export function maxTokenLifetimeSeconds(config: IssuerConfig): number {
  return Math.max(config.lifetimes.cae.maxSeconds, config.lifetimes.standard.maxSeconds);
}
