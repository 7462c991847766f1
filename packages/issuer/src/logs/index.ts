export * from './delivery-log.js';
export { type LogsModule, type LogsOptions, logsModule, logsOptionsFromEnvironment } from './module.js';
export { logsAdminRoutes, securityEventQuerySchema, signInQuerySchema } from './routes.js';
export * from './sign-in-entry.js';
export * from './sign-in-log-query.js';
export * from './sign-in-log-writer.js';
export * from './sign-in-retention.js';
