export * from './auth/access-token-verifier.js';
export * from './config.js';
export * from './context.js';
export * from './crypto/secrets.js';
export * from './events/outbox.js';
export * from './keys/signing-keys.js';
export * from './server.js';
export * from './storage/database.js';
export type * from './storage/schema.js';
