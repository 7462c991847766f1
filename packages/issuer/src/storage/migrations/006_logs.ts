import { type Kysely, sql } from 'kysely';

/**
 * The sign-in log: one row per token request, success or refusal. Every admin filter has an index
 * whose prefix is the filter column and whose tail is the keyset order (time desc, id desc), so a
 * filtered page reads only the rows it returns, whatever the size of the table.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sign_in_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('time', 'timestamptz', (c) => c.notNull())
    // null when the request failed before the principal was known (unknown client, bad password).
    .addColumn('principal_type', 'text', (c) =>
      c.check(sql`principal_type in ('user', 'guest', 'service_principal')`),
    )
    .addColumn('principal_id', 'text')
    .addColumn('principal_name', 'text')
    .addColumn('client_id', 'text')
    .addColumn('app_name', 'text')
    .addColumn('api_audience', 'text')
    .addColumn('grant_type', 'text')
    .addColumn('issuer_ip', 'text')
    // From `xms_rp_ipaddr` when the request answered a resource's location challenge.
    .addColumn('resource_ip', 'text')
    .addColumn('client_capabilities', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('cae_token', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('lifetime_seconds', 'integer')
    // One result per Conditional Access policy evaluated for the request.
    .addColumn('conditional_access', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('result', 'text', (c) => c.notNull().check(sql`result in ('success', 'failure')`))
    .addColumn('error_code', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('correlation_id', 'text')
    .execute();

  const keyset = (name: string, prefix: string[]) =>
    db.schema
      .createIndex(name)
      .on('sign_in_log')
      .columns([...prefix, 'time desc', 'id desc'])
      .execute();
  await keyset('sign_in_log_time', []);
  await keyset('sign_in_log_principal_id', ['principal_id']);
  await keyset('sign_in_log_principal_name', ['principal_name']);
  await keyset('sign_in_log_client_id', ['client_id']);
  await keyset('sign_in_log_api', ['api_audience']);
  await keyset('sign_in_log_cae', ['cae_token']);
  await keyset('sign_in_log_result', ['result']);
  await db.schema.createIndex('sign_in_log_correlation').on('sign_in_log').column('correlation_id').execute();

  // The overview and the delivery log look deliveries up by outbox event.
  await db.schema
    .createIndex('ssf_deliveries_security_event')
    .on('ssf_deliveries')
    .column('security_event_id')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ssf_deliveries_security_event').ifExists().execute();
  await db.schema.dropTable('sign_in_log').ifExists().execute();
}
