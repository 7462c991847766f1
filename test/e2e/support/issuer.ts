/**
 * A real issuer for end-to-end suites: createIssuer with every module, on a free loopback port (the
 * issuer URL must be known before it listens), embedded PGlite in a temporary folder or a fresh
 * PostgreSQL database, development mode (http:// loopback push URLs are allowed).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_CREDENTIALS_FILE, type AdminCredentials, createIssuer, type Issuer } from '@opencae/issuer';
import { createTestDatabase, postgresUrl } from '../../support/services.js';
import { AdminApi } from './admin-api.js';

export interface StorageEngine {
  name: string;
  /** A database URL (PostgreSQL) or undefined (PGlite in the data folder), and how to drop it. */
  database(): Promise<{ url: string | undefined; drop(): Promise<void> }>;
}

const serverUrl = await postgresUrl();

/** PGlite always; PostgreSQL too when DATABASE_URL reaches a server. */
export const storageEngines: StorageEngine[] = [
  { name: 'PGlite', database: async () => ({ url: undefined, drop: async () => {} }) },
  ...(serverUrl
    ? [
        {
          name: 'PostgreSQL',
          database: () => createTestDatabase(serverUrl) as ReturnType<StorageEngine['database']>,
        },
      ]
    : []),
];

/** A port nobody listens on right now (the issuer needs its URL before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningIssuer {
  issuer: Issuer;
  url: string;
  /** The admin API, authenticated with the bootstrap credentials from admin.json. */
  admin: AdminApi;
  close(): Promise<void>;
}

export async function startIssuer(engine: StorageEngine): Promise<RunningIssuer> {
  const database = await engine.database();
  const dataDir = await mkdtemp(join(tmpdir(), 'opencae-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let issuer: Issuer | undefined;
  try {
    issuer = await createIssuer({
      issuerUrl: url,
      port,
      host: '127.0.0.1',
      dataDir,
      devMode: true,
      ...(database.url ? { databaseUrl: database.url } : {}),
    });
    await issuer.listen();
    const credentials = JSON.parse(
      await readFile(join(dataDir, ADMIN_CREDENTIALS_FILE), 'utf8'),
    ) as AdminCredentials;
    const started = issuer;
    return {
      issuer: started,
      url,
      admin: new AdminApi(url, credentials),
      async close() {
        await started.close();
        await database.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await issuer?.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
