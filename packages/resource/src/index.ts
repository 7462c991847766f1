export { extractBearerToken } from './bearer.js';
export type { AccessTokenClaims } from './claims.js';
export { type ForwardedHeader, resolveClientIp, TrustedProxies } from './client-ip.js';
export {
  MetadataError,
  ResourceConfigError,
  RevocationStoreError,
  TransmitterRequestError,
} from './errors.js';
export {
  type Acceptance,
  createResourceGuard,
  type Rejection,
  type RequestDecision,
  type RequestInput,
  type ResourceGuard,
} from './guard.js';
export type { RequestHeaders } from './headers.js';
export type { LocationDecision, LocationEnforcer, LocationRefusal } from './location.js';
export {
  ConditionalAccessLocationEnforcer,
  createLocationEnforcer,
  createLocationPolicies,
  LOCATION_POLICIES_PATH,
  type LocationCheck,
  type LocationEnforcerOptions,
  type LocationPolicies,
  type LocationPoliciesOptions,
  type LocationPolicy,
  LocationPolicyClient,
  type LocationPolicyClientOptions,
  type LocationPolicyDocument,
  LocationPolicySyncError,
  LocationRules,
  type LocationRulesSource,
  locationPolicyDocumentSchema,
  type PolicyChangedEvent,
} from './location-policy/index.js';
export {
  ASYMMETRIC_ALGORITHMS,
  type ClaimCheck,
  type ResourceOptions,
  resourceOptionsSchema,
} from './options.js';
export { REJECTION_REASONS, type RejectionReason } from './reasons.js';
export type { ReceiverHealth } from './receiver/health.js';
export type { PushRequest, PushResponse } from './receiver/push-handler.js';
export {
  createSsfReceiver,
  type PolicyChangeTarget,
  type SsfReceiver,
  type SsfReceiverOptions,
} from './receiver/receiver.js';
export type { SecurityEventListener, SetOutcome } from './receiver/set-processor.js';
export { REVOCATION_EVENT_TYPES, revocationChanges } from './revocation/event-changes.js';
export { MemoryRevocationStore, type MemoryRevocationStoreOptions } from './revocation/memory-store.js';
export { RedisRevocationStore, type RedisRevocationStoreOptions } from './revocation/redis-store.js';
export type { RevocationChange, RevocationEntry } from './revocation/revocation-state.js';
export type { RevocationStore } from './revocation/revocation-store.js';
export { setSubjectKeys, tokenSubjectKeys } from './revocation/subject-keys.js';
