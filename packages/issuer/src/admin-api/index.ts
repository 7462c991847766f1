export * from './error-handler.js';
export * from './module.js';
export * from './openapi.js';
export * from './plugin.js';
export * from './route.js';
export { adminRoutes } from './routes/index.js';
