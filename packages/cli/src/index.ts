export { ADMIN_SCOPE, AdminClient, clientCredentialsToken, type TokenSource } from './admin-client.js';
export type { CliDependencies } from './commands/admin-command.js';
export { resolveStartConfig, type StartConfig, startIssuer } from './commands/start.js';
export { type Connection, resolveConnection } from './connection.js';
export { AdminApiError, CliError, UsageError } from './errors.js';
export type { CliIo } from './io.js';
export { buildProgram, runCli } from './program.js';
