export type { AccessToken } from './access-token.js';
export type { AuthorizationRequest, AuthorizationUrlOptions } from './authorization-code.js';
export type { AzureAccessToken, GetTokenOptions, TokenCredential } from './azure-credential.js';
export { OpenCaeClient, type OpenCaeClientOptions, type TokenOptions } from './client.js';
export type { ClientAuthenticationMethod } from './client-authentication.js';
export { type Clock, systemClock } from './clock.js';
export type { DeviceSignIn } from './device-code.js';
export {
  AuthorizationFailedError,
  ClaimsChallengeRefusedError,
  ClientConfigError,
  DiscoveryError,
  IssuerUnavailableError,
  NotSignedInError,
  RequestBodyTooLargeError,
  TokenRequestError,
  TokenResponseError,
  type TokenResponseErrorCode,
} from './errors.js';
export type { FetchLike } from './issuer-transport.js';
export { DEFAULT_EXPIRY_SKEW_MS, DEFAULT_REFRESH_FRACTION } from './lifetime.js';
export { DEFAULT_MAX_REPLAY_BODY_BYTES } from './replayable-request.js';
export { FileTokenStore } from './stores/file-store.js';
export { MemoryTokenStore } from './stores/memory-store.js';
export { type RedisCommands, RedisTokenStore } from './stores/redis-store.js';
export type { BackoffPolicy } from './token-cache.js';
export type { TokenStore } from './token-store.js';
