import { type Kysely, sql } from 'kysely';

/**
 * Shared Signals transmitter: streams created by receivers, the subjects they add or remove, and one
 * delivery row per (stream, outbox event) holding the signed SET until it is delivered or acknowledged.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and do not use the live schema type
export async function up(db: Kysely<any>): Promise<void> {
  const now = sql`now()`;

  await db.schema
    .createTable('ssf_streams')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // The receiver that created the stream (`azp` of its token); only it can see or change the stream.
    .addColumn('owner_client_id', 'text', (c) => c.notNull())
    .addColumn('aud', 'text', (c) => c.notNull())
    // null = not supplied by the receiver: every supported event type.
    .addColumn('events_requested', 'jsonb')
    .addColumn('events_delivered', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('delivery_method', 'text', (c) =>
      c.notNull().check(sql`delivery_method in ('urn:ietf:rfc:8935', 'urn:ietf:rfc:8936')`),
    )
    // Push: the receiver's URL. Poll: the unique URL this transmitter serves for the stream.
    .addColumn('endpoint_url', 'text', (c) => c.notNull())
    // Sent verbatim with each push; a credential of the receiver, never logged.
    .addColumn('authorization_header', 'text')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('enabled').check(sql`status in ('enabled', 'paused', 'disabled')`),
    )
    .addColumn('status_reason', 'text')
    .addColumn('min_verification_interval', 'integer', (c) => c.notNull())
    .addColumn('last_verification_at', 'timestamptz')
    .addColumn('description', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('ssf_streams_owner').on('ssf_streams').column('owner_client_id').execute();

  // Default subjects are ALL: a stream gets every subject's events unless the receiver removed it.
  await db.schema
    .createTable('ssf_stream_subjects')
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('ssf_streams.id').onDelete('cascade'))
    // Canonical JSON of the subject, so adding the same subject twice updates one row.
    .addColumn('subject_key', 'text', (c) => c.notNull())
    .addColumn('subject', 'jsonb', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('added', 'removed')`))
    .addColumn('verified', 'boolean')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('ssf_stream_subjects_pk', ['stream_id', 'subject_key'])
    .execute();

  await db.schema
    .createTable('ssf_deliveries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('ssf_streams.id').onDelete('cascade'))
    .addColumn('security_event_id', 'bigint', (c) => c.notNull().references('security_events.id'))
    .addColumn('jti', 'text', (c) => c.notNull().unique())
    .addColumn('event_type', 'text', (c) => c.notNull())
    // Stream-management events (verification, stream-updated) are delivered whatever the status.
    .addColumn('control', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('set_jwt', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`state in ('pending', 'delivered', 'acknowledged', 'failed', 'dead_letter')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // Pending: when it may be sent (backoff, or the lease of the worker sending it).
    // Delivered by poll and not acknowledged: when it may be handed out again.
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('acked_at', 'timestamptz')
    // One delivery per stream and event, even if two dispatchers ever raced.
    .addUniqueConstraint('ssf_deliveries_stream_event', ['stream_id', 'security_event_id'])
    .execute();
  // Push workers: due deliveries in outbox order.
  await db.schema
    .createIndex('ssf_deliveries_due')
    .on('ssf_deliveries')
    .columns(['next_attempt_at', 'security_event_id'])
    .where(sql.ref('state'), '=', 'pending')
    .execute();
  // Poll and pause/resume: a stream's outstanding deliveries in outbox order.
  await db.schema
    .createIndex('ssf_deliveries_outstanding')
    .on('ssf_deliveries')
    .columns(['stream_id', 'security_event_id'])
    .where(sql<boolean>`state in ('pending', 'delivered')`)
    .execute();
  // Admin: dead letters and failures per stream.
  await db.schema
    .createIndex('ssf_deliveries_stream_state')
    .on('ssf_deliveries')
    .columns(['stream_id', 'state', 'id'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['ssf_deliveries', 'ssf_stream_subjects', 'ssf_streams']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
