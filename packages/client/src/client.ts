/**
 * OpenCaeClient: tokens with the cp1 capability, cached and refreshed ahead of expiry, and a fetch
 * that answers CAE claims challenges. Point it at an issuer URL; metadata comes from discovery.
 */
import { randomUUID } from 'node:crypto';
import {
  type ClaimsChallenge,
  type ClaimsRequest,
  CP1,
  mergeClaims,
  parseClaimsChallenge,
} from '@opencae/protocol';
import type * as oauth from 'oauth4webapi';
import type { AccessToken } from './access-token.js';
import { type Account, AccountStore } from './account.js';
import { Authority } from './authority.js';
import {
  type AuthorizationRequest,
  type AuthorizationUrlOptions,
  buildAuthorizationRequest,
  validateCallback,
} from './authorization-code.js';
import {
  type AzureAccessToken,
  azureClaims,
  type GetTokenOptions,
  type TokenCredential,
} from './azure-credential.js';
import { accessTokenKey, accountKey, normalizeList } from './cache-key.js';
import { fetchAnsweringChallenges } from './challenge-fetch.js';
import { type ClientCredentialOptions, clientAuthentication } from './client-authentication.js';
import { type Clock, systemClock } from './clock.js';
import { type DeviceSignIn, pollDeviceCode } from './device-code.js';
import { ClientConfigError, NotSignedInError, TokenRequestError } from './errors.js';
import {
  DEFAULT_MAX_ISSUER_RESPONSE_BYTES,
  type FetchLike,
  type IssuerTransport,
  isLoopback,
} from './issuer-transport.js';
import { DEFAULT_EXPIRY_SKEW_MS, DEFAULT_REFRESH_FRACTION, type LifetimePolicy } from './lifetime.js';
import { DEFAULT_MAX_REPLAY_BODY_BYTES } from './replayable-request.js';
import { MemoryTokenStore } from './stores/memory-store.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, TokenCache } from './token-cache.js';
import { claimsParameter, TokenEndpoint, type TokenRequest } from './token-endpoint.js';
import type { TokenGrant } from './token-response.js';
import type { TokenStore } from './token-store.js';

export interface OpenCaeClientOptions extends ClientCredentialOptions {
  /** The issuer URL; its metadata is discovered (OIDC, then RFC 8414) unless `metadata` is given. */
  issuer: string | URL;
  metadata?: oauth.AuthorizationServer;
  clientId: string;
  /**
   * 'client_credentials' (a daemon acting as itself; the default when a secret or key is given) or
   * 'user' (an app acting for the user who signed in with the authorization code or device flow).
   */
  flow?: 'client_credentials' | 'user';
  /** Default scopes, e.g. `api://orders/.default` (Entra style) or `orders.read`. */
  scopes?: string | readonly string[];
  /** Default RFC 8707 resource indicator(s). */
  resource?: string | readonly string[];
  /** Claims asked for on every token request (capabilities are added on top). */
  claims?: ClaimsRequest;
  /** Client capabilities declared in `claims`; default `['cp1']`. `[]` turns CAE off. */
  capabilities?: readonly string[];
  /** Where tokens live; default in memory. See FileTokenStore and RedisTokenStore. */
  store?: TokenStore;
  clock?: Clock;
  /** Transport for the issuer and for `client.fetch`; default the global fetch. */
  fetch?: FetchLike;
  /** Without `refresh_in`, refresh after this fraction of the lifetime; default 0.75. */
  refreshFraction?: number;
  /** A token is not served in its last seconds; default 30. */
  expirySkewSeconds?: number;
  /** Backoff between failed background refreshes; default 5 s doubling up to 5 min. */
  backoff?: Partial<BackoffPolicy>;
  /** Largest streamed request body buffered for replay after a challenge; default 1 MiB. */
  maxReplayBodyBytes?: number;
  /** Largest issuer response read; default 256 KiB. */
  maxTokenResponseBytes?: number;
  /** Timeout of each issuer request; default 30 s. */
  issuerTimeoutMs?: number;
  /** Allow plain http to the issuer; default only for loopback hosts (local development). */
  allowInsecureRequests?: boolean;
  /** Failures no caller sees (background refresh, token store); default: ignored. */
  onBackgroundError?: (error: unknown) => void;
  /** Called when `fetch` answers a claims challenge (for logs and metrics). */
  onChallenge?: (event: { url: string; challenge: ClaimsChallenge }) => void;
}

/** Per-call options: override the client's defaults. */
export interface TokenOptions {
  scopes?: string | readonly string[];
  resource?: string | readonly string[];
  /** Claims asked for, in addition to the client's; part of the cache key. */
  claims?: ClaimsRequest;
  /** Capabilities for this request instead of the client's. */
  capabilities?: readonly string[];
  signal?: AbortSignal;
}

interface ResolvedRequest {
  key: string;
  scopes: readonly string[];
  resources: readonly string[];
  claims?: ClaimsRequest | undefined;
  capabilities: readonly string[];
  account: Account | undefined;
}

export class OpenCaeClient implements TokenCredential {
  readonly clientId: string;
  readonly capabilities: readonly string[];
  readonly flow: 'client_credentials' | 'user';
  readonly #authority: Authority;
  readonly #endpoint: TokenEndpoint;
  readonly #cache: TokenCache;
  readonly #accounts: AccountStore;
  readonly #clock: Clock;
  readonly #fetch: FetchLike;
  readonly #options: OpenCaeClientOptions;
  readonly #scopes: string[];
  readonly #resources: string[];
  readonly #maxReplayBodyBytes: number;
  #accountLock: Promise<unknown> = Promise.resolve();

  constructor(options: OpenCaeClientOptions) {
    if (!options.clientId) throw new ClientConfigError('ERR_CLIENT_CONFIG', 'clientId is required');
    let issuer: URL;
    try {
      issuer = new URL(options.issuer);
    } catch {
      throw new ClientConfigError('ERR_CLIENT_CONFIG', `issuer "${String(options.issuer)}" is not a URL`);
    }
    const refreshFraction = options.refreshFraction ?? DEFAULT_REFRESH_FRACTION;
    if (!(refreshFraction > 0 && refreshFraction < 1)) {
      throw new ClientConfigError('ERR_CLIENT_CONFIG', 'refreshFraction must be between 0 and 1 (exclusive)');
    }
    const policy: LifetimePolicy = {
      refreshFraction,
      expirySkewMs:
        options.expirySkewSeconds === undefined
          ? DEFAULT_EXPIRY_SKEW_MS
          : Math.max(0, options.expirySkewSeconds) * 1000,
    };
    this.#options = options;
    this.clientId = options.clientId;
    this.capabilities = options.capabilities ?? [CP1];
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#scopes = normalizeList(options.scopes);
    this.#resources = normalizeList(options.resource);
    this.#maxReplayBodyBytes = options.maxReplayBodyBytes ?? DEFAULT_MAX_REPLAY_BODY_BYTES;
    const { method, auth } = clientAuthentication(options);
    this.flow = options.flow ?? (method === 'none' ? 'user' : 'client_credentials');
    if (this.flow === 'client_credentials' && method === 'none') {
      throw new ClientConfigError(
        'ERR_CLIENT_CONFIG',
        'the client_credentials flow needs clientSecret or privateKey',
      );
    }
    const transport: IssuerTransport = {
      fetch: this.#fetch,
      maxResponseBytes: options.maxTokenResponseBytes ?? DEFAULT_MAX_ISSUER_RESPONSE_BYTES,
      allowInsecureRequests: options.allowInsecureRequests ?? isLoopback(issuer),
    };
    if (issuer.protocol !== 'https:' && !transport.allowInsecureRequests) {
      throw new ClientConfigError(
        'ERR_CLIENT_CONFIG',
        `issuer ${issuer.href} is not https; plain http is allowed for loopback hosts or with allowInsecureRequests`,
      );
    }
    this.#authority = new Authority(issuer, transport, options.metadata);
    const oauthClient: oauth.Client = { client_id: options.clientId, token_endpoint_auth_method: method };
    this.#endpoint = new TokenEndpoint(this.#authority, oauthClient, auth, transport, this.#clock, policy);
    const store = options.store ?? new MemoryTokenStore({ now: () => this.#clock.now() });
    this.#cache = new TokenCache({
      store,
      clock: this.#clock,
      policy,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      onBackgroundError: options.onBackgroundError ?? (() => {}),
    });
    this.#accounts = new AccountStore(store, accountKey(this.#authority.id, options.clientId));
  }

  /** The issuer's metadata (discovered on first use). */
  metadata(signal?: AbortSignal): Promise<oauth.AuthorizationServer> {
    return this.#authority.metadata(signal);
  }

  /** A valid access token: cached, refreshed in the background ahead of expiry, or acquired now. */
  async getAccessToken(options: TokenOptions = {}): Promise<AccessToken> {
    const request = await this.#resolve(options);
    return this.#cache.get(request.key, () => this.#acquire(request, undefined), options.signal);
  }

  /**
   * A new token satisfying a claims challenge (the parsed challenge, or the `WWW-Authenticate` header
   * value): the cache is bypassed, the challenge's claims are merged with the client's and its
   * capabilities, and the new token replaces the cached one. Rejects with TokenRequestError if the
   * issuer refuses.
   */
  async answerChallenge(
    challenge: ClaimsChallenge | string,
    options: TokenOptions = {},
  ): Promise<AccessToken> {
    const parsed = typeof challenge === 'string' ? parseClaimsChallenge(challenge) : challenge;
    if (!parsed) throw new ClientConfigError('ERR_CLIENT_CONFIG', 'the header carries no claims challenge');
    return this.#renew(await this.#resolve(options), parsed.claims, undefined, options.signal);
  }

  /**
   * fetch with `Authorization: Bearer …`; a CAE claims challenge is answered once (see docs/client.md).
   * Throws ClaimsChallengeRefusedError when the issuer refuses the new token.
   */
  async fetch(
    input: string | URL | Request,
    init?: RequestInit,
    options: TokenOptions = {},
  ): Promise<Response> {
    const request = await this.#resolve(options);
    return fetchAnsweringChallenges(
      {
        token: (signal) => this.#cache.get(request.key, () => this.#acquire(request, undefined), signal),
        answer: (challenge, rejected, signal) => {
          this.#options.onChallenge?.({
            url: input instanceof Request ? input.url : String(input),
            challenge,
          });
          return this.#renew(request, challenge.claims, rejected, signal);
        },
      },
      this.#fetch,
      this.#maxReplayBodyBytes,
      input,
      init,
    );
  }

  /** Azure SDK TokenCredential: `getToken(scopes, { claims, enableCae, abortSignal })`. */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AzureAccessToken> {
    const capabilities =
      options.enableCae === false
        ? []
        : options.enableCae === true && !this.capabilities.some((c) => c.toLowerCase() === CP1)
          ? [...this.capabilities, CP1]
          : this.capabilities;
    const tokenOptions: TokenOptions = { scopes, capabilities };
    if (options.abortSignal) tokenOptions.signal = options.abortSignal;
    const challengeClaims = azureClaims(options.claims);
    const request = await this.#resolve(tokenOptions);
    const token = challengeClaims
      ? await this.#renew(request, challengeClaims, undefined, options.abortSignal)
      : await this.#cache.get(request.key, () => this.#acquire(request, undefined), options.abortSignal);
    return {
      token: token.token,
      expiresOnTimestamp: token.expiresAt,
      refreshAfterTimestamp: token.refreshAt,
      tokenType: 'Bearer',
    };
  }

  /** Starts a sign-in (authorization code + PKCE). `openid` and `offline_access` are added to the scopes. */
  async authorizationUrl(o: AuthorizationUrlOptions & TokenOptions): Promise<AuthorizationRequest> {
    const as = await this.#authority.metadata(o.signal);
    const request = this.#tokenRequest(o, { withOidcScopes: true });
    return buildAuthorizationRequest(as, this.clientId, request, o);
  }

  /**
   * Completes a sign-in from the redirect (URL or its query): checks `state`, exchanges the code,
   * keeps the refresh token as the signed-in account and caches the access token.
   */
  async signInWithAuthorizationCode(
    o: {
      callback: string | URL | URLSearchParams;
      redirectUri: string;
      codeVerifier: string;
      state: string;
      nonce?: string | undefined;
    } & TokenOptions,
  ): Promise<AccessToken> {
    const as = await this.#authority.metadata(o.signal);
    const parameters = validateCallback(as, this.#endpoint.client, o.callback, o.state);
    const request = this.#tokenRequest(o, { withOidcScopes: true });
    const grant = await this.#endpoint.authorizationCode(
      parameters,
      { redirectUri: o.redirectUri, codeVerifier: o.codeVerifier, nonce: o.nonce },
      { ...request, signal: this.#issuerSignal() },
    );
    return this.#signedIn(grant, o);
  }

  /** Device authorization grant, when the issuer offers it: show `userCode`, then await `complete()`. */
  async startDeviceSignIn(options: TokenOptions = {}): Promise<DeviceSignIn> {
    const request = this.#tokenRequest(options, { withOidcScopes: true });
    const started = this.#clock.now();
    const authorization = await this.#endpoint.deviceAuthorization({
      ...request,
      signal: this.#issuerSignal(),
    });
    const expiresAt = started + authorization.expires_in * 1000;
    return {
      userCode: authorization.user_code,
      verificationUri: authorization.verification_uri,
      verificationUriComplete: authorization.verification_uri_complete,
      expiresAt,
      complete: async (signal) => {
        const grant = await pollDeviceCode(
          { intervalSeconds: authorization.interval ?? 5, expiresAt, clock: this.#clock, signal },
          () =>
            this.#endpoint.deviceCode(authorization.device_code, {
              ...request,
              signal: this.#issuerSignal(),
            }),
        );
        return this.#signedIn(grant, options);
      },
    };
  }

  /** Forgets the signed-in account (its cached access tokens are no longer selected). */
  async signOut(): Promise<void> {
    await this.#accounts.delete();
  }

  async #signedIn(grant: TokenGrant, options: TokenOptions): Promise<AccessToken> {
    if (!grant.refreshToken) {
      throw new NotSignedInError('the issuer returned no refresh token; request the offline_access scope');
    }
    const account: Account = {
      id: idTokenSubject(grant.idToken) ?? randomUUID(),
      refreshToken: grant.refreshToken,
    };
    await this.#withAccountLock(() => this.#accounts.set(account, grant.refreshTokenExpiresIn));
    const request = await this.#resolve(options);
    // Replaces whatever was cached for this account and these scopes.
    return this.#cache.renew(request.key, 'sign-in', async () => grant.accessToken);
  }

  #tokenRequest(options: TokenOptions, o: { withOidcScopes: boolean }): TokenRequest {
    let scopes = options.scopes === undefined ? this.#scopes : normalizeList(options.scopes);
    if (o.withOidcScopes) scopes = normalizeList([...scopes, 'openid', 'offline_access']);
    const claims = mergeClaims(this.#options.claims, options.claims);
    return {
      scopes,
      resources: options.resource === undefined ? this.#resources : normalizeList(options.resource),
      claims: Object.keys(claims).length > 0 ? claims : undefined,
      capabilities: options.capabilities ?? this.capabilities,
    };
  }

  async #resolve(options: TokenOptions): Promise<ResolvedRequest> {
    const request = this.#tokenRequest(options, { withOidcScopes: false });
    if (request.scopes.length === 0 && request.resources.length === 0 && this.flow === 'client_credentials') {
      throw new ClientConfigError(
        'ERR_CLIENT_CONFIG',
        'no scopes or resource: set them on the client or the call',
      );
    }
    const account = this.flow === 'user' ? await this.#accounts.get() : undefined;
    const key = accessTokenKey({
      authority: this.#authority.id,
      clientId: this.clientId,
      account: account?.id,
      scopes: request.scopes,
      resources: request.resources,
      claims: claimsParameter(request.claims, request.capabilities),
    });
    return { ...request, key, account };
  }

  /** Bypasses the cache: a token with `challengeClaims` merged in, written over the cached one. */
  async #renew(
    request: ResolvedRequest,
    challengeClaims: ClaimsRequest,
    rejected: AccessToken | undefined,
    signal: AbortSignal | undefined,
  ): Promise<AccessToken> {
    try {
      return await this.#cache.renew(
        request.key,
        JSON.stringify(challengeClaims),
        () => this.#acquire(request, challengeClaims),
        signal,
      );
    } catch (error) {
      // The issuer will not renew it: stop sending the rejected token.
      if (error instanceof TokenRequestError && rejected)
        await this.#cache.evict(request.key, rejected.token);
      throw error;
    }
  }

  async #acquire(request: ResolvedRequest, challengeClaims: ClaimsRequest | undefined): Promise<AccessToken> {
    const tokenRequest: TokenRequest = {
      scopes: request.scopes,
      resources: request.resources,
      claims: challengeClaims ? mergeClaims(request.claims, challengeClaims) : request.claims,
      capabilities: request.capabilities,
      signal: this.#issuerSignal(),
    };
    if (this.flow === 'client_credentials') {
      return (await this.#endpoint.clientCredentials(tokenRequest)).accessToken;
    }
    // Refresh token grants for one account run one at a time: with rotation, two requests presenting
    // the same refresh token would make the second look like a replay.
    return this.#withAccountLock(async () => {
      const account = await this.#accounts.get();
      if (!account || (request.account && account.id !== request.account.id)) {
        throw new NotSignedInError(
          'no signed-in account: sign in with the authorization code or device flow',
        );
      }
      try {
        const grant = await this.#endpoint.refreshToken(account.refreshToken, tokenRequest);
        if (grant.refreshToken && grant.refreshToken !== account.refreshToken) {
          await this.#accounts.set(
            { ...account, refreshToken: grant.refreshToken },
            grant.refreshTokenExpiresIn,
          );
        }
        return grant.accessToken;
      } catch (error) {
        // The session is gone (revoked, expired): forget it so the app asks the user to sign in again.
        if (error instanceof TokenRequestError && error.error === 'invalid_grant')
          await this.#accounts.delete();
        throw error;
      }
    });
  }

  #withAccountLock<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#accountLock.then(run, run);
    this.#accountLock = result.catch(() => {});
    return result;
  }

  #issuerSignal(): AbortSignal {
    return AbortSignal.timeout(this.#options.issuerTimeoutMs ?? 30_000);
  }
}

function idTokenSubject(idToken: string | undefined): string | undefined {
  if (!idToken) return undefined;
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
