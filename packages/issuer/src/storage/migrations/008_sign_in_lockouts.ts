import type { Kysely } from 'kysely';

/**
 * Failed sign-ins per account name and per client address, shared by every replica, so a password
 * guesser cannot start a fresh sign-in (or pick another replica) to reset the count.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sign_in_lockouts')
    // 'account:<username as typed, lower case>' or 'address:<client IP>'
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    // The count starts over after a quiet window since the last failure.
    .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull())
    .addColumn('locked_until', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('sign_in_lockouts_last_failure_at')
    .on('sign_in_lockouts')
    .column('last_failure_at')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sign_in_lockouts').execute();
}
