import { z } from 'zod';
import { MetadataError, TransmitterRequestError } from './errors.js';
import { IssuerMetadataSource } from './issuer-metadata.js';

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive().optional(),
});

export interface ClientCredentialsOptions {
  /** The issuer whose OIDC metadata names the token endpoint (unless `tokenEndpoint` is given). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  tokenEndpoint?: string;
  /** Space-delimited scopes asked for, e.g. `ssf.read`. */
  scope: string;
  requestTimeoutMs: number;
  now: () => number;
}

/** RFC 6749 §2.3.1: client_secret_basic form-urlencodes id and secret before base64. */
function basicCredentials(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
}

/**
 * An access token from the client-credentials grant (RFC 6749 §4.4), kept until shortly before it
 * expires. Concurrent callers share one token request. Failures are TransmitterRequestError /
 * MetadataError and are not cached.
 */
export class ClientCredentialsTokens {
  #token: { value: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;
  readonly #issuerMetadata: IssuerMetadataSource;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.#issuerMetadata = new IssuerMetadataSource(options.issuer, {
      timeoutMs: options.requestTimeoutMs,
      retryAfterMs: 0,
      now: options.now,
    });
  }

  /** Forgets the token (after a 401), so the next call fetches a new one. */
  drop(): void {
    this.#token = undefined;
  }

  accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt > this.options.now()) return Promise.resolve(this.#token.value);
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #request(): Promise<string> {
    const endpoint = this.options.tokenEndpoint ?? (await this.#issuerMetadata.get()).token_endpoint;
    if (!endpoint) throw new MetadataError('the issuer metadata has no token_endpoint');
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basicCredentials(this.options.clientId, this.options.clientSecret)}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: this.options.scope }).toString(),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (cause) {
      throw new TransmitterRequestError(`POST ${endpoint} failed: ${(cause as Error).message}`, 0, {
        cause,
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new TransmitterRequestError(
        `the token endpoint refused the client credentials (HTTP ${response.status})`,
        response.status,
      );
    }
    const parsed = tokenResponseSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success || parsed.data.token_type.toLowerCase() !== 'bearer') {
      throw new TransmitterRequestError(
        'the token endpoint returned an unusable token response',
        response.status,
      );
    }
    // Renew a minute early (or halfway for short tokens) so a request never carries an expiring token.
    const lifetimeMs = (parsed.data.expires_in ?? 300) * 1000;
    this.#token = {
      value: parsed.data.access_token,
      expiresAt: this.options.now() + Math.max(lifetimeMs - 60_000, lifetimeMs / 2),
    };
    return this.#token.value;
  }
}
