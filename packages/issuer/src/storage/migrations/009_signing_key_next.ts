import { type Kysely, sql } from 'kysely';

/**
 * A pre-published `next` signing key: in the JWKS before it signs, so a rotation never presents a kid
 * that verifiers have not had the chance to fetch. `activated_at` is null while a key is next; keys
 * that signed before this migration count as activated when they were created.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('activated_at', 'timestamptz').execute();
  await db.updateTable('signing_keys').set({ activated_at: sql`created_at` }).execute();
  // At most one next key, whatever the replicas do (the advisory lock is the first line).
  await sql`CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys ((activated_at IS NULL))
    WHERE activated_at IS NULL`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('signing_keys').where('activated_at', 'is', null).execute();
  await sql`DROP INDEX IF EXISTS signing_keys_one_next`.execute(db);
  await db.schema.alterTable('signing_keys').dropColumn('activated_at').execute();
}
