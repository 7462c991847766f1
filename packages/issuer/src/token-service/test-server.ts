/**
 * Starts a real issuer for the token service's integration tests and benchmark: PGlite in memory
 * or a fresh PostgreSQL database, listening on an ephemeral port. Not exported from the package.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IssuerConfigInput } from '../config.js';
import { type CreateIssuerOptions, createIssuer, type Issuer } from '../server.js';
import { tokenServiceModule } from './token-service-module.js';

export const TEST_ISSUER_URL = 'https://issuer.opencae.test';

export interface TestIssuer {
  issuer: Issuer;
  /** Where the server listens (endpoints are built from it; `iss` stays TEST_ISSUER_URL). */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startTestIssuer(
  o: { databaseUrl?: string; config?: Partial<IssuerConfigInput>; options?: CreateIssuerOptions } = {},
): Promise<TestIssuer> {
  // A temporary folder: the configuration resolves dataDir to a path, so `memory://` is not usable.
  const dataDir = o.databaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'opencae-token-service-'));
  const issuer = await createIssuer(
    {
      issuerUrl: TEST_ISSUER_URL,
      port: 0,
      host: '127.0.0.1',
      ...(dataDir ? { dataDir } : {}),
      databaseUrl: o.databaseUrl,
      ...o.config,
    },
    { modules: [tokenServiceModule()], ...o.options },
  );
  const baseUrl = await issuer.listen();
  return {
    issuer,
    baseUrl,
    async close() {
      await issuer.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
