import { z } from 'zod';
import { MetadataError } from './errors.js';

const issuerMetadataSchema = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.url(),
  authorization_endpoint: z.url().optional(),
  token_endpoint: z.url().optional(),
});

export type IssuerMetadata = z.infer<typeof issuerMetadataSchema>;

/** Fetches JSON with a timeout; any failure becomes a MetadataError that says which URL failed. */
export async function fetchMetadataJson(url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new MetadataError(`fetching ${url} failed: ${(cause as Error).message}`, { cause });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new MetadataError(`fetching ${url} failed: HTTP ${response.status}`);
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new MetadataError(`${url} did not return JSON`, { cause });
  }
}

/** `https://id.example/tenant` → `https://id.example/tenant/.well-known/openid-configuration`. */
export function discoveryUrl(issuer: string, wellKnown = 'openid-configuration'): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/${wellKnown}`;
}

/**
 * OpenID Connect discovery of one issuer, fetched lazily and kept. A failed fetch is not cached for
 * long: the next caller after `retryAfterMs` tries again, callers in between share the failure.
 */
export class IssuerMetadataSource {
  #value: Promise<IssuerMetadata> | undefined;
  #failedAt = 0;

  constructor(
    readonly issuer: string,
    private readonly options: { timeoutMs: number; retryAfterMs: number; now: () => number },
  ) {}

  get(): Promise<IssuerMetadata> {
    if (this.#value && this.#failedAt && this.options.now() - this.#failedAt >= this.options.retryAfterMs) {
      this.#value = undefined;
    }
    this.#value ??= this.#load().catch((error: unknown) => {
      this.#failedAt = this.options.now();
      throw error;
    });
    return this.#value;
  }

  async #load(): Promise<IssuerMetadata> {
    this.#failedAt = 0;
    const url = discoveryUrl(this.issuer);
    const parsed = issuerMetadataSchema.safeParse(await fetchMetadataJson(url, this.options.timeoutMs));
    if (!parsed.success)
      throw new MetadataError(`${url} is not valid issuer metadata: ${z.prettifyError(parsed.error)}`);
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the metadata must name exactly the issuer we asked for.
    if (parsed.data.issuer !== this.issuer) {
      throw new MetadataError(`${url} names issuer ${parsed.data.issuer}, expected ${this.issuer}`);
    }
    return parsed.data;
  }
}
