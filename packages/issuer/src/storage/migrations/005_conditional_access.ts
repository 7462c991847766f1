import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  const now = sql`now()`;

  // Named locations: CIDR ranges (jsonb array of strings, validated by the application).
  await db.schema
    .createTable('ca_named_locations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('trusted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('ranges', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  // Policies: the validated definition (assignments, conditions, controls) as one jsonb document.
  await db.schema
    .createTable('ca_policies')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('enabled', 'reportOnly', 'disabled')`))
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  // One row per policy version: which audiences the change affected (null = every audience), so a
  // resource challenges only tokens issued before the last change that concerns its API.
  await db.schema
    .createTable('ca_policy_changes')
    .addColumn('version', 'bigint', (c) => c.primaryKey())
    .addColumn('audiences', 'jsonb')
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['ca_policy_changes', 'ca_policies', 'ca_named_locations']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
