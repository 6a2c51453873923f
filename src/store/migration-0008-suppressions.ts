// The suppression list as an API (GET /v1/suppression/list and /v1/suppressions) and the
// soft-bounce policy. Listing is newest first, filtered by type or not: one index per shape, so a
// page is read from the index in order. The email filter uses the unique (account_id, email) index
// of 0001.
// soft_bounce_streaks holds only addresses whose latest outcomes are soft bounces: a delivery
// deletes the row, a suppression too. Most addresses never have one, so the table stays small and
// a delivery batch costs one index probe, not a write per message.
import type { Kysely, Migration } from 'kysely';

export function suppressionsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex('suppressions_account_created')
        .on('suppressions')
        .columns(['account_id', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('suppressions_account_type_created')
        .on('suppressions')
        .columns(['account_id', 'type', 'created_at', 'id'])
        .execute();

      await db.schema
        .createTable('soft_bounce_streaks')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('last_bounce_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('soft_bounce_streaks_pk', ['account_id', 'email'])
        .execute();
    },
  };
}
