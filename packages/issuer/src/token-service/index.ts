export * from './cae-rules.js';
export * from './current-state.js';
export * from './errors.js';
export * from './interaction/totp.js';
export { ROUTES as TOKEN_SERVICE_ROUTES } from './provider-configuration.js';
export * from './scopes.js';
export { rotateSigningKey, SIGNING_KEYS_CHANNEL } from './signing-key-sync.js';
export * from './token-service-module.js';
