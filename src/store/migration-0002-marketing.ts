// The marketing (mail2many-compatible) schema: channels, subscribers with their channel
// subscriptions and custom field values, groups and memberships, custom fields, the blacklist and
// background jobs. Integer ids (the seed's resources have integer ids). Every filterable subscriber
// column has an (account_id, column) index so filtered, sorted list queries stay indexed.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';
import { serialIdColumn } from './migration-columns.ts';

export function marketingMigration(dialect: SqlDialect): Migration {
  const { idType, id } = serialIdColumn(dialect);

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('channels')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sender_name', 'text')
        .addColumn('sender_email', 'text')
        .addColumn('reply_to', 'text')
        .addColumn('language_iso', 'text', (c) => c.notNull().defaultTo('de'))
        .addColumn('color', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('channels_account').on('channels').columns(['account_id', 'id']).execute();

      await db.schema
        .createTable('subscribers')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text') // lower-cased; NULL once erased (tombstone)
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('status_addition', 'integer')
        .addColumn('gender_id', 'integer')
        .addColumn('language_iso', 'text')
        .addColumn('title', 'text')
        .addColumn('firstname', 'text')
        .addColumn('lastname', 'text')
        .addColumn('company', 'text')
        .addColumn('street', 'text')
        .addColumn('postcode', 'text')
        .addColumn('city', 'text')
        .addColumn('phone_number', 'text')
        .addColumn('birthday', 'text') // YYYY-MM-DD
        .addColumn('opt_in_comment', 'text')
        .addColumn('opt_in_sent_at', 'bigint')
        .addColumn('opt_in_confirmed_at', 'bigint')
        .addColumn('opt_in_ip', 'text')
        .addColumn('reference', 'text')
        .addColumn('last_opened_at', 'bigint')
        .addColumn('last_clicked_at', 'bigint')
        .addColumn('deleted_at', 'bigint') // set when personal data was erased
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscribers_account_email')
        .unique()
        .on('subscribers')
        .columns(['account_id', 'email'])
        .execute();
      for (const col of [
        'status',
        'status_addition',
        'gender_id',
        'language_iso',
        'firstname',
        'lastname',
        'company',
        'postcode',
        'city',
        'birthday',
        'created_at',
        'updated_at',
        'opt_in_confirmed_at',
        'last_opened_at',
        'last_clicked_at',
      ]) {
        await db.schema
          .createIndex(`subscribers_account_${col}`)
          .on('subscribers')
          .columns(['account_id', col])
          .execute();
      }

      await db.schema
        .createTable('subscriber_channels')
        .addColumn('subscriber_id', 'bigint', (c) => c.notNull())
        .addColumn('channel_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('subscriber_channels_pk', ['subscriber_id', 'channel_id'])
        .execute();
      await db.schema
        .createIndex('subscriber_channels_channel')
        .on('subscriber_channels')
        .columns(['channel_id', 'subscriber_id'])
        .execute();

      await db.schema
        .createTable('customer_fields')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('field_type', 'integer', (c) => c.notNull()) // 1 subscriber, 2 account, 3 mailing
        .addColumn('type', 'integer', (c) => c.notNull()) // 1 string … 6 currency
        .addColumn('is_available_for_import', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('is_available_for_export', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('is_editable', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('translations', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('customer_fields_account')
        .on('customer_fields')
        .columns(['account_id', 'id'])
        .execute();

      // One row per (subscriber, field): text for every type, a number for integer/boolean/currency
      // so range filters compare numerically and use an index.
      await db.schema
        .createTable('subscriber_field_values')
        .addColumn('subscriber_id', 'bigint', (c) => c.notNull())
        .addColumn('field_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('value', 'text')
        .addColumn('value_num', 'double precision')
        .addPrimaryKeyConstraint('subscriber_field_values_pk', ['subscriber_id', 'field_id'])
        .execute();
      await db.schema
        .createIndex('subscriber_field_values_text')
        .on('subscriber_field_values')
        .columns(['field_id', 'value'])
        .execute();
      await db.schema
        .createIndex('subscriber_field_values_num')
        .on('subscriber_field_values')
        .columns(['field_id', 'value_num'])
        .execute();

      await db.schema
        .createTable('subscriber_groups')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull()) // 1 static, 2 dynamic, 3 external
        .addColumn('conditions', 'text') // search grammar JSON, for dynamic groups
        .addColumn('can_edit', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('can_delete', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('can_assign_subscribers', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscriber_groups_account_name')
        .unique()
        .on('subscriber_groups')
        .columns(['account_id', 'name'])
        .execute();

      await db.schema
        .createTable('subscriber_group_members')
        .addColumn('group_id', 'bigint', (c) => c.notNull())
        .addColumn('subscriber_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('subscriber_group_members_pk', ['group_id', 'subscriber_id'])
        .execute();
      await db.schema
        .createIndex('subscriber_group_members_subscriber')
        .on('subscriber_group_members')
        .columns(['subscriber_id', 'group_id'])
        .execute();

      await db.schema
        .createTable('blacklist')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('pattern', 'text', (c) => c.notNull()) // lower-cased address, or *@domain
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('blacklist_account_pattern')
        .unique()
        .on('blacklist')
        .columns(['account_id', 'pattern'])
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', idType, id)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // queued running completed failed
        .addColumn('total', 'bigint')
        .addColumn('processed', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('failed', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('payload', 'text') // JSON: what the job works on (e.g. the uploaded file's path)
        .addColumn('errors', 'text') // JSON: the first problems found
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('jobs_account').on('jobs').columns(['account_id', 'id']).execute();
    },
  };
}
