// The inbound receiver of the return path: every report that arrives is kept (matched or not) for
// inspection, listed newest first per account, and those not matched to an account are listed by
// themselves (account_id null). Reports matched by the original's Message-ID need the outbox row
// of a Message-ID: an index on messages.message_id_header.
import type { Kysely, Migration } from 'kysely';

export function inboundMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('inbound_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('mail_from', 'text', (c) => c.notNull())
        .addColumn('rcpt_to', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .addColumn('raw_bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('inbound_reports_account')
        .on('inbound_reports')
        .columns(['account_id', 'id'])
        .execute();
      await db.schema.createIndex('messages_message_id_header').on('messages').columns(['message_id_header']).execute();
    },
  };
}
