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
  /** The issuer URL (`iss`): where clients find it. */
  url: string;
  /** Where this process listens (plain HTTP on loopback); the same as url unless a proxy is in front. */
  localUrl: string;
  /** The admin API, authenticated with the bootstrap credentials from admin.json. */
  admin: AdminApi;
  close(): Promise<void>;
}

/** `issuerUrl` and `trustProxy` put the issuer behind a proxy, as `--issuer-url` / `--trust-proxy` do. */
export async function startIssuer(
  engine: StorageEngine,
  o: { issuerUrl?: string; trustProxy?: string[] } = {},
): Promise<RunningIssuer> {
  const database = await engine.database();
  const dataDir = await mkdtemp(join(tmpdir(), 'opencae-e2e-'));
  const port = await freePort();
  const localUrl = `http://127.0.0.1:${port}`;
  const url = o.issuerUrl ?? localUrl;
  let issuer: Issuer | undefined;
  try {
    issuer = await createIssuer({
      issuerUrl: url,
      port,
      host: '127.0.0.1',
      dataDir,
      devMode: true,
      ...(o.trustProxy ? { trustProxy: o.trustProxy } : {}),
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
      localUrl,
      admin: new AdminApi(localUrl, credentials),
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
