export * from './admin-routes.js';
export * from './dead-letters.js';
export * from './errors.js';
export * from './event-types.js';
export * from './metadata.js';
export { type SsfModule, ssfModule } from './module.js';
export * from './options.js';
export * from './push-url-guard.js';
export { streamIncludesSubject, subjectKey } from './subjects.js';
