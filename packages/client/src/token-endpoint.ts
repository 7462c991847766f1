/**
 * The grants, on oauth4webapi: every request carries the scope, RFC 8707 `resource` and the `claims`
 * parameter with the client's capabilities merged in (as MSAL does, on every grant), and every
 * failure comes out as one of the SDK's typed errors.
 */
import {
  CLAIMS_MAX_LENGTH,
  type ClaimsRequest,
  ClaimsRequestError,
  mergeClaims,
  withCapabilities,
} from '@opencae/protocol';
import * as oauth from 'oauth4webapi';
import type { Authority } from './authority.js';
import type { Clock } from './clock.js';
import { ClientConfigError } from './errors.js';
import { toIssuerError } from './issuer-errors.js';
import { httpOptions, type IssuerTransport } from './issuer-transport.js';
import type { LifetimePolicy } from './lifetime.js';
import { type TokenGrant, toTokenGrant } from './token-response.js';

/** What a token is requested for. */
export interface TokenRequest {
  scopes: readonly string[];
  /** RFC 8707 resource indicators. */
  resources: readonly string[];
  /** Claims asked for (the caller's, merged with a challenge's); capabilities are added on top. */
  claims?: ClaimsRequest | undefined;
  capabilities: readonly string[];
  signal?: AbortSignal | undefined;
}

/** The `claims` parameter value: the request's claims with the capabilities merged in, or undefined if empty. */
export function claimsParameter(
  claims: ClaimsRequest | undefined,
  capabilities: readonly string[],
): string | undefined {
  const merged = withCapabilities(mergeClaims(claims), capabilities);
  if (Object.keys(merged).length === 0) return undefined;
  const json = JSON.stringify(merged);
  if (json.length > CLAIMS_MAX_LENGTH) {
    throw new ClaimsRequestError(
      'ERR_CLAIMS_TOO_LARGE',
      `the claims parameter exceeds ${CLAIMS_MAX_LENGTH} characters`,
    );
  }
  return json;
}

/** scope, resource and claims as form parameters. */
export function requestParameters(request: TokenRequest): URLSearchParams {
  const parameters = new URLSearchParams();
  if (request.scopes.length > 0) parameters.set('scope', request.scopes.join(' '));
  for (const resource of request.resources) parameters.append('resource', resource);
  const claims = claimsParameter(request.claims, request.capabilities);
  if (claims !== undefined) parameters.set('claims', claims);
  return parameters;
}

export class TokenEndpoint {
  constructor(
    readonly authority: Authority,
    readonly client: oauth.Client,
    readonly clientAuth: oauth.ClientAuth,
    readonly transport: IssuerTransport,
    readonly clock: Clock,
    readonly policy: LifetimePolicy,
  ) {}

  clientCredentials(request: TokenRequest): Promise<TokenGrant> {
    return this.#grant(request, async (as, options) => {
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        this.client,
        this.clientAuth,
        requestParameters(request),
        options,
      );
      return oauth.processClientCredentialsResponse(as, this.client, response);
    });
  }

  refreshToken(refreshToken: string, request: TokenRequest): Promise<TokenGrant> {
    return this.#grant(request, async (as, options) => {
      const response = await oauth.refreshTokenGrantRequest(as, this.client, this.clientAuth, refreshToken, {
        ...options,
        additionalParameters: requestParameters(request),
      });
      return oauth.processRefreshTokenResponse(as, this.client, response);
    });
  }

  authorizationCode(
    callback: URLSearchParams,
    o: { redirectUri: string; codeVerifier: string; nonce?: string | undefined },
    request: TokenRequest,
  ): Promise<TokenGrant> {
    return this.#grant(request, async (as, options) => {
      const additionalParameters = new URLSearchParams();
      for (const resource of request.resources) additionalParameters.append('resource', resource);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        this.client,
        this.clientAuth,
        callback,
        o.redirectUri,
        o.codeVerifier,
        { ...options, additionalParameters },
      );
      return oauth.processAuthorizationCodeResponse(as, this.client, response, {
        expectedNonce: o.nonce ?? oauth.expectNoNonce,
      });
    });
  }

  async deviceAuthorization(request: TokenRequest): Promise<oauth.DeviceAuthorizationResponse> {
    const as = await this.authority.metadata(request.signal);
    if (!as.device_authorization_endpoint) {
      throw new ClientConfigError(
        'ERR_GRANT_UNSUPPORTED',
        "the issuer's metadata has no device_authorization_endpoint: it does not offer the device authorization grant",
      );
    }
    try {
      const response = await oauth.deviceAuthorizationRequest(
        as,
        this.client,
        this.clientAuth,
        requestParameters(request),
        httpOptions(this.transport, request.signal) as oauth.DeviceAuthorizationRequestOptions,
      );
      return await oauth.processDeviceAuthorizationResponse(as, this.client, response);
    } catch (error) {
      throw await toIssuerError(error);
    }
  }

  deviceCode(deviceCode: string, request: TokenRequest): Promise<TokenGrant> {
    return this.#grant(request, async (as, options) => {
      const response = await oauth.deviceCodeGrantRequest(
        as,
        this.client,
        this.clientAuth,
        deviceCode,
        options,
      );
      return oauth.processDeviceCodeResponse(as, this.client, response);
    });
  }

  async #grant(
    request: TokenRequest,
    send: (
      as: oauth.AuthorizationServer,
      options: oauth.TokenEndpointRequestOptions,
    ) => Promise<oauth.TokenEndpointResponse>,
  ): Promise<TokenGrant> {
    const as = await this.authority.metadata(request.signal);
    // The lifetime counts from when the request left, never from when the answer arrived.
    const now = this.clock.now();
    let response: oauth.TokenEndpointResponse;
    try {
      response = await send(
        as,
        httpOptions(this.transport, request.signal) as oauth.TokenEndpointRequestOptions,
      );
    } catch (error) {
      throw await toIssuerError(error);
    }
    return toTokenGrant(response, { now, policy: this.policy, requestedCapabilities: request.capabilities });
  }
}
