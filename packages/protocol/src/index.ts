export * from './challenge.js';
export * from './claims-request.js';
export * from './errors.js';
export * from './events.js';
export * from './ip-range-index.js';
export { isPlainObject } from './json.js';
export * from './set.js';
export * from './ssf.js';
export * from './subject.js';
