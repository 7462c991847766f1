import { type Kysely, sql } from 'kysely';

/**
 * The sign-in log's correlation id is now the request's UUID, which every answer of the issuer
 * carries (`x-request-id`): the index serves the admin API's `correlation_id` filter, how an
 * administrator finds the request a user or a developer reports. One lookup key per row (about 7 µs
 * per row on PGlite, see 010).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX sign_in_log_correlation ON sign_in_log (correlation_id)`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS sign_in_log_correlation`.execute(db);
}
