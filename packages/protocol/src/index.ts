export * from './challenge.js';
export * from './claims-request.js';
export * from './errors.js';
