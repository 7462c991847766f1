export type { LocationPolicy, LocationPolicyDocument } from './document.js';
export { locationPolicyDocumentSchema } from './document.js';
export { LocationPolicySyncError } from './errors.js';
export {
  ConditionalAccessLocationEnforcer,
  createLocationEnforcer,
  type LocationCheck,
  type LocationCheckCode,
  type LocationEnforcerOptions,
  type LocationRulesSource,
} from './location-enforcer.js';
export {
  createLocationPolicies,
  type LocationPolicies,
  type LocationPoliciesOptions,
} from './location-policies.js';
export { LocationRules } from './location-rules.js';
export {
  LOCATION_POLICIES_PATH,
  LocationPolicyClient,
  type LocationPolicyClientOptions,
  type PolicyChangedEvent,
} from './policy-client.js';
