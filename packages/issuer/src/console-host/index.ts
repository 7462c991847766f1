export * from './console-client.js';
export {
  BUILD_COMMAND,
  type ConsoleHostModule,
  type ConsoleHostOptions,
  consoleHostModule,
  DEFAULT_CONSOLE_DIST,
} from './module.js';
export { CONSOLE_CSP } from './security-headers.js';
