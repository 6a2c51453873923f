// One migration set for SQLite and PostgreSQL. Column types are chosen to mean the same on both:
// text ids, bigint epoch-millisecond times, integer flags, JSON kept as text.
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { marketingMigration } from './migration-0002-marketing.ts';
import { mailingsMigration } from './migration-0003-mailings.ts';
import { countersMigration } from './migration-0004-counters.ts';
import { webhooksMigration } from './migration-0005-webhooks.ts';
import { subscriberIndexesMigration } from './migration-0006-subscriber-indexes.ts';
import { triggerMailingsMigration } from './migration-0007-trigger-mailings.ts';
import { suppressionsMigration } from './migration-0008-suppressions.ts';
import { smtpSubmissionMigration } from './migration-0009-smtp-submission.ts';
import { integerIdsMigration } from './migration-0011-integer-ids.ts';
import { contractMigration } from './migration-0012-contract.ts';
import { mxDeliveryMigration } from './migration-0013-mx-delivery.ts';
import { inboundMigration } from './migration-0014-inbound.ts';
import { sandboxMigration } from './migration-0015-sandbox.ts';
import { dashboardMigration } from './migration-0016-dashboard.ts';
import { capturedBytesMigration } from './migration-0017-captured-bytes.ts';

export type SqlDialect = 'sqlite' | 'postgres';

const buildMigrations = (dialect: SqlDialect): Record<string, Migration> => ({
  '0001_foundation': {
    async up(db: Kysely<any>) {
      const isPg = dialect === 'postgres';
      const serial = isPg ? 'bigserial' : 'integer';

      await db.schema
        .createTable('settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text', (c) => c.references('accounts.id'))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('Active'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('allowed_ips', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('environment', 'text', (c) => c.notNull().defaultTo('production'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('api_keys_account').on('api_keys').columns(['account_id', 'created_at']).execute();

      await db.schema
        .createTable('transmissions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('api_key_id', 'text')
        .addColumn('from_email', 'text', (c) => c.notNull())
        .addColumn('from_name', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('recipient_count', 'integer', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('transactional', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('campaign_id', 'text')
        .addColumn('send_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('transmissions_account_created')
        .on('transmissions')
        .columns(['account_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('transmission_id', 'text')
        .addColumn('mailing_id', 'text')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('recipient_name', 'text')
        .addColumn('recipient_type', 'text', (c) => c.notNull().defaultTo('to'))
        .addColumn('recipient_data', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('last_response', 'text')
        .addColumn('bounce_class', 'integer')
        .addColumn('message_id_header', 'text')
        .addColumn('size', 'integer')
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute();
      // The claim query walks this index: due rows, transactional (priority 0) first.
      await sql`CREATE INDEX messages_due ON messages (priority, next_attempt_at) WHERE status IN ('queued',
        'deferred')`.execute(db);
      await sql`CREATE INDEX messages_leased ON messages (lease_expires_at) WHERE status = 'sending'`.execute(db);
      await db.schema.createIndex('messages_transmission').on('messages').columns(['transmission_id']).execute();
      await db.schema
        .createIndex('messages_account_created')
        .on('messages')
        .columns(['account_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('messages_account_status')
        .on('messages')
        .columns(['account_id', 'status', 'created_at'])
        .execute();
      await db.schema
        .createIndex('messages_account_recipient')
        .on('messages')
        .columns(['account_id', 'recipient', 'created_at'])
        .execute();

      await db.schema
        .createTable('message_raw')
        .addColumn('message_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('id', serial as any, (c) => (isPg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('transmission_id', 'text')
        .addColumn('mailing_id', 'text')
        .addColumn('recipient', 'text')
        .addColumn('data', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_transmission').on('events').columns(['transmission_id', 'id']).execute();
      await db.schema.createIndex('events_message').on('events').columns(['message_id', 'id']).execute();
      await db.schema
        .createIndex('events_account_created')
        .on('events')
        .columns(['account_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('html', 'text')
        .addColumn('text', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('templates_account').on('templates').columns(['account_id', 'created_at']).execute();

      await db.schema
        .createTable('sending_domains')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('dkim_selector', 'text', (c) => c.notNull())
        .addColumn('dkim_private_key', 'text', (c) => c.notNull())
        .addColumn('dkim_public_key', 'text', (c) => c.notNull())
        .addColumn('spf_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dkim_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cname_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dmarc_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('unverified'))
        .addColumn('last_checked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sending_domains_account_domain')
        .unique()
        .on('sending_domains')
        .columns(['account_id', 'domain'])
        .execute();
      await db.schema.createIndex('sending_domains_domain').on('sending_domains').columns(['domain']).execute();

      await db.schema
        .createTable('suppressions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('suppressions_account_email')
        .unique()
        .on('suppressions')
        .columns(['account_id', 'email'])
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer', (c) => c.notNull())
        .addColumn('response_body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['account_id', 'scope', 'key'])
        .execute();

      // Messages accepted per account and UTC day, kept in the accept transaction, so quota checks
      // and the usage report never count the messages table.
      await db.schema
        .createTable('account_usage')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull()) // YYYY-MM-DD
        .addColumn('sent', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('account_usage_pk', ['account_id', 'day'])
        .execute();
    },
  },
  '0002_marketing': marketingMigration(dialect),
  '0003_mailings': mailingsMigration(dialect),
  '0004_counters': countersMigration(),
  '0005_webhooks': webhooksMigration(dialect),
  '0006_subscriber_indexes': subscriberIndexesMigration(dialect),
  '0007_trigger_mailings': triggerMailingsMigration(),
  '0008_suppressions': suppressionsMigration(),
  '0009_smtp_submission': smtpSubmissionMigration(dialect),
  '0011_integer_ids': integerIdsMigration(dialect),
  '0012_contract': contractMigration(dialect),
  '0013_mx_delivery': mxDeliveryMigration(),
  '0014_inbound': inboundMigration(),
  '0015_sandbox': sandboxMigration(),
  '0016_dashboard': dashboardMigration(),
  '0017_captured_bytes': capturedBytesMigration(dialect),
});

/** Every migration of this dialect (tests migrate to a given one to check an upgrade). */
export const migrationProvider = (dialect: SqlDialect): MigrationProvider => ({
  getMigrations: async () => buildMigrations(dialect),
});

export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
  }
}

/** The names of this dialect's migrations, in order: what a database is current with (see /readyz). */
export const migrationNames = (dialect: SqlDialect): string[] => Object.keys(buildMigrations(dialect)).sort();
