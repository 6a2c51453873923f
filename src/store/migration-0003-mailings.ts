// Mailings (marketing campaigns) and what the outbox needs to fan them out exactly once:
// a `subscriber_id` on messages and a unique (mailing_id, subscriber_id) index, so a fan-out
// batch repeated after a crash inserts nothing twice (ON CONFLICT DO NOTHING).
// Fan-out state lives on the mailing row: the cursor (last subscriber id materialized), whether
// fan-out is done, and a lease so only one node fans out a mailing at a time.
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';
import { serialIdColumn } from './migration-columns.ts';

export function mailingsMigration(dialect: SqlDialect): Migration {
  const { idType, id } = serialIdColumn(dialect);

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mailings')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull().defaultTo('standard'))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
        .addColumn('sender_name', 'text')
        .addColumn('sender_email', 'text')
        .addColumn('reply_to', 'text')
        .addColumn('subject', 'text')
        .addColumn('preheader', 'text')
        .addColumn('html', 'text')
        .addColumn('text', 'text')
        .addColumn('template_id', 'text')
        .addColumn('language_iso', 'text')
        .addColumn('channel_id', 'bigint')
        .addColumn('subscriber_group_ids', 'text', (c) => c.notNull().defaultTo('[]')) // JSON array of ids
        .addColumn('tracking_opens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('tracking_clicks', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('customer_fields', 'text', (c) => c.notNull().defaultTo('{}')) // JSON {fieldId: value}
        .addColumn('scheduled_at', 'bigint')
        .addColumn('started_at', 'bigint')
        .addColumn('sent_at', 'bigint')
        .addColumn('recipient_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('fanout_cursor', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('fanout_done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mailings_account').on('mailings').columns(['account_id', 'id']).execute();
      for (const col of [
        'status',
        'type',
        'name',
        'channel_id',
        'created_at',
        'updated_at',
        'scheduled_at',
        'sent_at',
      ]) {
        await db.schema.createIndex(`mailings_account_${col}`).on('mailings').columns(['account_id', col]).execute();
      }
      // The fan-out loop's poll: due scheduled mailings and running ones, across accounts.
      await db.schema.createIndex('mailings_due').on('mailings').columns(['status', 'scheduled_at']).execute();

      await db.schema.alterTable('messages').addColumn('subscriber_id', 'bigint').execute();
      await sql`CREATE UNIQUE INDEX messages_mailing_subscriber ON messages (mailing_id, subscriber_id) WHERE
        mailing_id IS NOT NULL`.execute(db);
      // Backlog, completion, pause/resume/cancel and the recipients list all ask "this mailing's
      // messages in this status".
      await db.schema.createIndex('messages_mailing_status').on('messages').columns(['mailing_id', 'status']).execute();
    },
  };
}
