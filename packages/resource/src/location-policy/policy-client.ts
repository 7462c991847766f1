/**
 * Keeps this API's location policies in memory: fetched from the issuer at start, refreshed at once
 * when the OpenCAE policy-changed SET arrives (the receiver calls `onPolicyChanged`), and re-checked
 * periodically with If-None-Match as a safety net (a 304 costs no parsing). A failed refresh keeps
 * the last good document. The per-request check never waits on the network.
 */
import { ResourceConfigError } from '../errors.js';
import { type LocationPolicyDocument, locationPolicyDocumentSchema } from './document.js';
import { LocationPolicySyncError } from './errors.js';
import { LocationRules } from './location-rules.js';

export const LOCATION_POLICIES_PATH = '/conditional-access/v1/location-policies';

export interface LocationPolicyClientOptions {
  /** The issuer's base URL (its `iss`). */
  issuer: string;
  /** This API's audience (the `aud` of the tokens it accepts). */
  audience: string;
  /** An access token for `urn:opencae:ssf` with `ssf.read` (the same credentials as the SSF receiver). */
  accessToken: () => Promise<string>;
  /** Called when the issuer answers 401, before the one retry: forget the cached token. */
  dropAccessToken?: () => void;
  /** Safety-net refresh period; default 5 minutes. 0 disables the timer. */
  refreshIntervalMs?: number;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Replaces the endpoint URL (default `<issuer>/conditional-access/v1/location-policies`). */
  endpoint?: string;
  fetch?: typeof globalThis.fetch;
  /** Called with refresh failures (the last good document stays in force). */
  onError?: (error: LocationPolicySyncError) => void;
}

/** The body of the OPENCAE policy-changed event. */
export interface PolicyChangedEvent {
  policy_version: number;
  audiences?: readonly string[];
  [member: string]: unknown;
}

const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export class LocationPolicyClient {
  readonly audience: string;
  readonly #options: Required<Pick<LocationPolicyClientOptions, 'refreshIntervalMs' | 'timeoutMs'>> &
    LocationPolicyClientOptions;
  readonly #url: string;
  readonly #fetch: typeof globalThis.fetch;
  #rules: LocationRules | undefined;
  #etag: string | undefined;
  #announcedVersion = 0;
  #inFlight: Promise<boolean> | undefined;
  #again = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: LocationPolicyClientOptions) {
    if (!options.audience) throw new ResourceConfigError('location policy client: audience is required');
    if (typeof options.accessToken !== 'function') {
      throw new ResourceConfigError(
        'location policy client: accessToken must be a function returning a token',
      );
    }
    let url: URL;
    try {
      url = new URL(options.endpoint ?? `${options.issuer.replace(/\/$/, '')}${LOCATION_POLICIES_PATH}`);
    } catch (cause) {
      throw new ResourceConfigError('location policy client: issuer (or endpoint) must be an absolute URL', {
        cause,
      });
    }
    url.searchParams.set('audience', options.audience);
    this.#url = url.toString();
    this.audience = options.audience;
    this.#options = { refreshIntervalMs: 5 * 60_000, timeoutMs: 10_000, ...options };
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** The compiled rules, or undefined before the first successful fetch. */
  get rules(): LocationRules | undefined {
    return this.#rules;
  }

  /**
   * Tokens whose `xms_pv` is below this were issued under policies since changed for this API: the
   * larger of the document's audience version and any version a policy-changed event announced.
   */
  get requiredVersion(): number {
    return Math.max(this.#rules?.document.audienceVersion ?? 0, this.#announcedVersion);
  }

  /** Fetches the first document (throws if it cannot) and starts the periodic refresh. */
  async start(): Promise<void> {
    this.#closed = false;
    await this.refresh({ throwOnError: true });
    if (this.#options.refreshIntervalMs > 0 && !this.#timer && !this.#closed) {
      this.#timer = setInterval(() => void this.refresh(), this.#options.refreshIntervalMs);
      this.#timer.unref?.();
    }
  }

  /** For the SSF receiver: an OPENCAE policy-changed event. Takes effect before the refetch completes. */
  onPolicyChanged(event: PolicyChangedEvent): void {
    if (Array.isArray(event.audiences) && !event.audiences.includes(this.audience)) return;
    if (Number.isSafeInteger(event.policy_version) && event.policy_version > this.#announcedVersion) {
      this.#announcedVersion = event.policy_version;
    }
    void this.refresh();
  }

  /**
   * Conditional GET of the document. Concurrent calls share one request; a call arriving during a
   * request schedules one more, so a change announced mid-flight is never missed. Resolves true when
   * the document changed.
   */
  refresh(options: { throwOnError?: boolean } = {}): Promise<boolean> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    const run = async (): Promise<boolean> => {
      let changed = false;
      do {
        this.#again = false;
        try {
          changed = (await this.#fetchOnce()) || changed;
        } catch (error) {
          const failure =
            error instanceof LocationPolicySyncError
              ? error
              : new LocationPolicySyncError(`location policy refresh failed: ${String(error)}`, 0, {
                  cause: error,
                });
          if (options.throwOnError) throw failure;
          this.#options.onError?.(failure);
          return changed;
        }
      } while (this.#again && !this.#closed);
      return changed;
    };
    this.#inFlight = run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetchOnce(): Promise<boolean> {
    let response = await this.#get();
    if (response.status === 401 && this.#options.dropAccessToken) {
      // An expired or revoked token: one retry with a fresh one.
      await response.body?.cancel();
      this.#options.dropAccessToken();
      response = await this.#get();
    }
    return this.#accept(response);
  }

  async #get(): Promise<Response> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${await this.#options.accessToken()}`,
    };
    if (this.#etag && this.#rules) headers['if-none-match'] = this.#etag;
    try {
      return await this.#fetch(this.#url, {
        headers,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (cause) {
      throw new LocationPolicySyncError(`location policies: ${this.#url} is unreachable`, 0, { cause });
    }
  }

  async #accept(response: Response): Promise<boolean> {
    if (response.status === 304) return false;
    if (!response.ok) {
      await response.body?.cancel();
      throw new LocationPolicySyncError(
        `location policies: the issuer answered ${response.status}`,
        response.status,
      );
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_DOCUMENT_BYTES) {
      await response.body?.cancel();
      throw new LocationPolicySyncError('location policies: the document is too large', response.status);
    }
    let document: LocationPolicyDocument;
    try {
      document = locationPolicyDocumentSchema.parse(await response.json());
    } catch (cause) {
      throw new LocationPolicySyncError('location policies: the document is malformed', response.status, {
        cause,
      });
    }
    if (document.audience !== this.audience) {
      throw new LocationPolicySyncError(
        `location policies: the document is for ${document.audience}`,
        response.status,
      );
    }
    // Never go back to an older document (a slow response overtaken by a newer one).
    if (this.#rules && document.policyVersion < this.#rules.document.policyVersion) return false;
    let rules: LocationRules;
    try {
      rules = new LocationRules(document);
    } catch (cause) {
      throw new LocationPolicySyncError(
        'location policies: a named location range is invalid',
        response.status,
        {
          cause,
        },
      );
    }
    this.#rules = rules;
    this.#etag = response.headers.get('etag') ?? undefined;
    return true;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
