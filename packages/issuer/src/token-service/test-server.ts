/**
 * Starts a real issuer for the token service's integration tests and benchmark: PGlite in memory
 * or a fresh PostgreSQL database, listening on an ephemeral port. Not exported from the package.
 */
import { randomUUID } from 'node:crypto';
import type { IssuerConfigInput } from '../config.js';
import { logsModule } from '../logs/module.js';
import type { SignInLogWriter } from '../logs/sign-in-log-writer.js';
import { type CreateIssuerOptions, createIssuer, type Issuer } from '../server.js';
import { notify } from '../storage/database.js';
import { DIRECTORY_CHANGED_CHANNEL, type DirectoryCache } from './directory-cache.js';
import { tokenServiceModule } from './token-service-module.js';

export const TEST_ISSUER_URL = 'https://issuer.opencae.test';

export interface TestIssuer {
  issuer: Issuer;
  /** Where the server listens (endpoints are built from it; `iss` stays TEST_ISSUER_URL). */
  baseUrl: string;
  /** The token service's directory cache (only with the default module list). */
  directoryCache(): DirectoryCache;
  /** The sign-in log writer the token service records to (flush it before reading sign_in_log). */
  signInLog(): SignInLogWriter;
  /**
   * Resolves once this issuer's directory cache has received every change committed so far: a marker
   * notification is sent, and PostgreSQL delivers notifications in commit order.
   */
  directoryChangesSeen(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIssuer(
  o: {
    databaseUrl?: string;
    config?: Partial<IssuerConfigInput>;
    options?: CreateIssuerOptions;
    /** false: no logs module, so token requests are not written to the sign-in log (benchmark). */
    signInLog?: boolean;
  } = {},
): Promise<TestIssuer> {
  // PGlite in memory: nothing on disk to clean up.
  const dataDir = o.databaseUrl ? undefined : 'memory://';
  const logs = logsModule();
  const logged = o.signInLog !== false;
  const tokenService = tokenServiceModule(logged ? { signInLog: () => logs.signInLog() } : {});
  const issuer = await createIssuer(
    {
      issuerUrl: TEST_ISSUER_URL,
      port: 0,
      host: '127.0.0.1',
      ...(dataDir ? { dataDir } : {}),
      databaseUrl: o.databaseUrl,
      ...o.config,
    },
    { modules: logged ? [tokenService, logs] : [tokenService], ...o.options },
  );
  const baseUrl = await issuer.listen();
  return {
    issuer,
    baseUrl,
    directoryCache: () => tokenService.host().directory.cache,
    signInLog: () => logs.signInLog(),
    async directoryChangesSeen() {
      const cache = tokenService.host().directory.cache;
      const marker = `marker:${randomUUID()}`;
      await notify(issuer.context.db, DIRECTORY_CHANGED_CHANNEL, marker);
      const deadline = Date.now() + 10_000;
      while (cache.stats().lastChangedTable !== marker) {
        if (Date.now() > deadline) throw new Error('the directory change notification did not arrive');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    },
    async close() {
      await issuer.close();
    },
  };
}
