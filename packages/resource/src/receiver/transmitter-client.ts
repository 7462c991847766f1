import { type TransmitterMetadata, transmitterMetadataSchema } from '@opencae/protocol';
import { z } from 'zod';
import { MetadataError, TransmitterRequestError } from '../errors.js';
import { discoveryUrl, fetchMetadataJson, IssuerMetadataSource } from '../issuer-metadata.js';

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive().optional(),
});

export interface TransmitterClientOptions {
  /** The transmitter's issuer URL; its metadata is at `/.well-known/ssf-configuration`. */
  transmitter: string;
  clientId: string;
  clientSecret: string;
  /** Token endpoint for the client-credentials grant; discovered from the issuer's OIDC metadata when absent. */
  tokenEndpoint?: string;
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
 * Talks to an SSF transmitter: its metadata (SSF 1.0 §7.1), an access token from the client-credentials
 * grant (RFC 6749 §4.4, kept until shortly before it expires), and authorized JSON requests.
 */
export class TransmitterClient {
  #metadata: Promise<TransmitterMetadata> | undefined;
  #token: { value: string; expiresAt: number } | undefined;
  readonly #issuerMetadata: IssuerMetadataSource;

  constructor(private readonly options: TransmitterClientOptions) {
    this.#issuerMetadata = new IssuerMetadataSource(options.transmitter, {
      timeoutMs: options.requestTimeoutMs,
      retryAfterMs: 0,
      now: options.now,
    });
  }

  metadata(): Promise<TransmitterMetadata> {
    this.#metadata ??= (async () => {
      const url = discoveryUrl(this.options.transmitter, 'ssf-configuration');
      const parsed = transmitterMetadataSchema.safeParse(
        await fetchMetadataJson(url, this.options.requestTimeoutMs),
      );
      if (!parsed.success) throw new MetadataError(`${url} is not SSF transmitter metadata`);
      if (parsed.data.issuer.replace(/\/+$/, '') !== this.options.transmitter.replace(/\/+$/, '')) {
        throw new MetadataError(
          `${url} names issuer ${parsed.data.issuer}, expected ${this.options.transmitter}`,
        );
      }
      return parsed.data;
    })().catch((error: unknown) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  /** Forgets the access token (after a 401), so the next request fetches a new one. */
  dropToken(): void {
    this.#token = undefined;
  }

  async accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt > this.options.now()) return this.#token.value;
    const endpoint = this.options.tokenEndpoint ?? (await this.#issuerMetadata.get()).token_endpoint;
    if (!endpoint) throw new MetadataError('the transmitter issuer metadata has no token_endpoint');
    const response = await this.#send(endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basicCredentials(this.options.clientId, this.options.clientSecret)}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: this.options.scope }).toString(),
    });
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

  /**
   * An authorized request; JSON in and out. Resolves with the status and the parsed body (undefined when
   * empty). Retries once with a fresh token after a 401.
   */
  async request(
    method: string,
    url: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${await this.accessToken()}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
        signal,
      );
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        this.dropToken();
        continue;
      }
      const text = await response.text();
      let parsed: unknown;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { status: response.status, body: parsed };
    }
  }

  async #send(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    try {
      return await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (cause) {
      if (signal?.aborted) throw cause;
      throw new TransmitterRequestError(
        `${init.method ?? 'GET'} ${url} failed: ${(cause as Error).message}`,
        0,
        {
          cause,
        },
      );
    }
  }
}
