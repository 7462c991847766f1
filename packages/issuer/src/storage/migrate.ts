import { OpenCaeError } from '@opencae/protocol';
import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import * as initial from './migrations/001_initial.js';
import * as ssf from './migrations/002_ssf.js';
import * as conditionalAccess from './migrations/005_conditional_access.js';
import * as logs from './migrations/006_logs.js';
import * as directoryChangeNotify from './migrations/007_directory_change_notify.js';
import * as signInLockouts from './migrations/008_sign_in_lockouts.js';
import * as signingKeyNext from './migrations/009_signing_key_next.js';
import * as signInLogIndexes from './migrations/010_sign_in_log_indexes.js';
import * as signInLogCorrelation from './migrations/011_sign_in_log_correlation.js';

/** Migrations are code, listed here in order; a new one is a new file and a new line. */
const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_ssf': ssf,
  '005_conditional_access': conditionalAccess,
  '006_logs': logs,
  '007_directory_change_notify': directoryChangeNotify,
  '008_sign_in_lockouts': signInLockouts,
  '009_signing_key_next': signingKeyNext,
  '010_sign_in_log_indexes': signInLogIndexes,
  '011_sign_in_log_correlation': signInLogCorrelation,
};

class InCodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export class MigrationError extends OpenCaeError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_MIGRATION_FAILED', message, options);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: new InCodeMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(
      `database migration ${failed} failed: ${String((error as Error).message ?? error)}`,
      {
        cause: error,
      },
    );
  }
}
