// Counters that statistics read instead of the events table. Every event bumps its counters in the
// same transaction as its row: per account, transmission and mailing, and per sending domain,
// recipient domain and label (for the analytics breakdowns), each per UTC day. Clicks are also
// counted per link. "First open / first click" markers make the unique counts exact.
import type { Kysely, Migration } from 'kysely';

export function countersMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('counters')
        .addColumn('account_id', 'text', (c) => c.notNull())
        // scope: account | transmission | mailing | sending_domain | recipient_domain | label
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull()) // '' for the account scope
        .addColumn('day', 'text', (c) => c.notNull()) // YYYY-MM-DD, UTC
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('value', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('counters_pk', ['account_id', 'scope', 'scope_id', 'day', 'metric'])
        .execute();
      // Totals of one transmission or mailing, whatever the days (the primary key serves account ranges).
      await db.schema
        .createIndex('counters_scope')
        .on('counters')
        .columns(['scope', 'scope_id', 'account_id'])
        .execute();

      await db.schema
        .createTable('link_clicks')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull()) // transmission | mailing
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('url_hash', 'text', (c) => c.notNull()) // sha256 of the URL, hex (URLs are too long for a key)
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('link_index', 'integer', (c) => c.notNull())
        .addColumn('clicks', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('unique_clicks', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('link_clicks_pk', ['account_id', 'scope', 'scope_id', 'url_hash'])
        .execute();

      // One row per message and kind ('open', 'click', 'click:<url hash>'): its first engagement.
      await db.schema
        .createTable('engagement_firsts')
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('engagement_firsts_pk', ['message_id', 'kind'])
        .execute();
    },
  };
}
