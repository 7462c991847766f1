import { directoryAdminModule } from './admin-api/module.js';
import { conditionalAccessModule } from './conditional-access/module.js';
import { consoleHostModule } from './console-host/index.js';
import type { IssuerModule } from './context.js';
import { logsModule, logsOptionsFromEnvironment } from './logs/index.js';
import { ssfModule, ssfOptionsFromEnvironment } from './ssf/index.js';
import { tokenServiceModule } from './token-service/index.js';

/**
 * The issuer's parts, in registration order. Each lives in its own folder and adds itself here with
 * one line; server.ts knows nothing of them beyond this list.
 */
export function issuerModules(): IssuerModule[] {
  // Built first: the token service records every token request in its sign-in log.
  const logs = logsModule(logsOptionsFromEnvironment(process.env));
  return [
    directoryAdminModule(),
    tokenServiceModule({ signInLog: () => logs.signInLog() }),
    conditionalAccessModule(),
    ssfModule(ssfOptionsFromEnvironment(process.env)),
    logs,
    consoleHostModule(),
  ];
}
