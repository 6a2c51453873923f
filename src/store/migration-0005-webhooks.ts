// Webhooks of both surfaces: the endpoints, the batches handed to them (events frozen at creation,
// so every retry sends the same bytes apart from retryCount) and the log of delivery attempts.
// A webhook's cursor is the last event id given to a batch; events(account_id, id) serves the
// "events after the cursor" read.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';
import { serialIdColumn } from './migration-columns.ts';

export function webhooksMigration(dialect: SqlDialect): Migration {
  const { idType, id } = serialIdColumn(dialect);

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('surface', 'text', (c) => c.notNull()) // transactional | marketing
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull()) // JSON array of the surface's event names
        .addColumn('auth_user', 'text')
        .addColumn('auth_password', 'text') // kept as given: it has to be sent with every delivery
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('cursor', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_account').on('webhooks').columns(['account_id', 'surface', 'id']).execute();
      await db.schema.createIndex('webhooks_active').on('webhooks').columns(['active', 'cursor']).execute();

      await db.schema
        .createTable('webhook_batches')
        .addColumn('id', 'text', (c) => c.primaryKey()) // the batchId receivers see
        .addColumn('webhook_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull()) // JSON array, frozen at creation
        .addColumn('event_count', 'integer', (c) => c.notNull())
        .addColumn('retry_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull()) // pending | delivered | failed
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('first_attempt_at', 'bigint')
        .addColumn('last_attempt_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_batches_due')
        .on('webhook_batches')
        .columns(['webhook_id', 'status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('webhook_batches_finished')
        .on('webhook_batches')
        .columns(['status', 'created_at'])
        .execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('id', idType, id)
        .addColumn('webhook_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('retry_count', 'integer', (c) => c.notNull())
        .addColumn('event_count', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer') // null when no HTTP answer came (timeout, refused)
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('attempted_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_attempts_webhook')
        .on('webhook_attempts')
        .columns(['webhook_id', 'id'])
        .execute();

      await db.schema.createIndex('events_account_id').on('events').columns(['account_id', 'id']).execute();
    },
  };
}
