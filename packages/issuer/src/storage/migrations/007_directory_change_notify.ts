import { type Kysely, sql } from 'kysely';

/**
 * Every committed change to a directory table the token service reads sends
 * NOTIFY opencae_directory_changed '<table>', whatever wrote it (admin API, CLI, another replica, raw
 * SQL). Replicas keep a per-process directory cache and drop it on this notification, so their view
 * is never older than a committed change by more than the notification latency. One notification
 * per statement (and PostgreSQL folds identical ones within a transaction): bulk writes stay cheap.
 */
const NOTIFYING_TABLES = [
  'users',
  'applications',
  'service_principals',
  'client_secrets',
  'apis',
  'api_grants',
  'groups',
  'group_members',
  'settings',
] as const;

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION opencae_notify_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('opencae_directory_changed', TG_TABLE_NAME);
      RETURN NULL;
    END
    $$`.execute(db);
  for (const table of NOTIFYING_TABLES) {
    await sql`
      CREATE TRIGGER opencae_directory_changed
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION opencae_notify_directory_changed()`.execute(db);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of NOTIFYING_TABLES) {
    await sql`DROP TRIGGER IF EXISTS opencae_directory_changed ON ${sql.table(table)}`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS opencae_notify_directory_changed()`.execute(db);
}
