/**
 * The storage engines a directory/admin suite runs on: embedded PGlite always, PostgreSQL when
 * DATABASE_URL reaches a server (each suite gets its own fresh database).
 */
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { openStorage, type Storage } from '../../src/storage/database.js';

export interface StorageEngine {
  name: string;
  open(): Promise<{ storage: Storage; databaseUrl?: string; drop(): Promise<void> }>;
}

const serverUrl = await postgresUrl();

export const storageEngines: StorageEngine[] = [
  {
    name: 'PGlite',
    open: async () => ({ storage: await openStorage({ dataDir: 'memory://' }), drop: async () => {} }),
  },
  ...(serverUrl
    ? [
        {
          name: 'PostgreSQL',
          open: async () => {
            const database = await createTestDatabase(serverUrl);
            return {
              storage: await openStorage({ databaseUrl: database.url, poolSize: 4 }),
              databaseUrl: database.url,
              drop: database.drop,
            };
          },
        },
      ]
    : []),
];
