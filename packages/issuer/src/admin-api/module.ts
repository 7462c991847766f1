/**
 * The directory and its admin surface as an issuer module: bootstraps the directory (tenant, built-in
 * APIs, admin application) when the issuer is created, then mounts the admin API.
 */
import type { IssuerModule } from '../context.js';
import { bootstrapDirectory } from '../directory/bootstrap.js';
import { registerAdminApi } from './plugin.js';

export function directoryAdminModule(): IssuerModule {
  return {
    name: 'directory-admin',
    async register(app, context) {
      const result = await bootstrapDirectory(context.db, {
        issuer: context.config.issuerUrl,
        dataDir: context.config.dataDir,
      });
      if (result.credentialsFile)
        // The path only: the secret itself never reaches a log.
        context.logger.info(
          { clientId: result.adminClientId, file: result.credentialsFile },
          'bootstrap admin application created; credentials written',
        );
      await registerAdminApi(app, context);
    },
  };
}
