import { type TransmitterMetadata, transmitterMetadataSchema } from '@opencae/protocol';
import { ClientCredentialsTokens } from '../client-credentials.js';
import { MetadataError, TransmitterRequestError } from '../errors.js';
import { discoveryUrl, fetchMetadataJson } from '../issuer-metadata.js';

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

/**
 * Talks to an SSF transmitter: its metadata (SSF 1.0 §7.1), an access token from the client-credentials
 * grant (ClientCredentialsTokens), and authorized JSON requests.
 */
export class TransmitterClient {
  #metadata: Promise<TransmitterMetadata> | undefined;
  readonly #tokens: ClientCredentialsTokens;

  constructor(private readonly options: TransmitterClientOptions) {
    this.#tokens = new ClientCredentialsTokens({
      issuer: options.transmitter,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      tokenEndpoint: options.tokenEndpoint,
      scope: options.scope,
      requestTimeoutMs: options.requestTimeoutMs,
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
    this.#tokens.drop();
  }

  accessToken(): Promise<string> {
    return this.#tokens.accessToken();
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
