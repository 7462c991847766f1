/**
 * The issuer's metadata: given explicitly, or discovered once from the issuer URL
 * (`/.well-known/openid-configuration`, falling back to RFC 8414 `/.well-known/oauth-authorization-server`).
 * Concurrent first calls share one discovery; a failure is not cached, the next call tries again.
 */
import * as oauth from 'oauth4webapi';
import { DiscoveryError } from './errors.js';
import { httpOptions, type IssuerTransport } from './issuer-transport.js';

export class Authority {
  readonly issuer: URL;
  readonly #transport: IssuerTransport;
  #metadata: oauth.AuthorizationServer | undefined;
  #pending: Promise<oauth.AuthorizationServer> | undefined;

  constructor(issuer: URL, transport: IssuerTransport, metadata?: oauth.AuthorizationServer) {
    this.issuer = issuer;
    this.#transport = transport;
    if (metadata) {
      if (metadata.issuer !== issuer.href && metadata.issuer !== issuer.href.replace(/\/$/, '')) {
        throw new DiscoveryError(
          `metadata.issuer "${metadata.issuer}" is not the configured issuer ${issuer.href}`,
        );
      }
      this.#metadata = metadata;
    }
  }

  /** The configured issuer, used in cache keys (stable before and after discovery). */
  get id(): string {
    return this.issuer.href.replace(/\/$/, '');
  }

  async metadata(signal?: AbortSignal): Promise<oauth.AuthorizationServer> {
    if (this.#metadata) return this.#metadata;
    this.#pending ??= this.#discover(signal).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #discover(signal: AbortSignal | undefined): Promise<oauth.AuthorizationServer> {
    let lastError: unknown;
    for (const algorithm of ['oidc', 'oauth2'] as const) {
      try {
        const response = await oauth.discoveryRequest(this.issuer, {
          ...httpOptions(this.#transport, signal),
          algorithm,
        } as oauth.DiscoveryRequestOptions);
        if (response.status === 404) {
          lastError = new DiscoveryError(`no ${algorithm} metadata at the issuer (HTTP 404)`);
          continue;
        }
        this.#metadata = await oauth.processDiscoveryResponse(this.issuer, response);
        return this.#metadata;
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new DiscoveryError(
          `discovery of ${this.issuer.href} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    throw lastError;
  }
}
