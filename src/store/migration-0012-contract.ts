// Mailtarget's published contract (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json):
// - sending domains get integer ids (the contract's `id` is an integer) and an `assignment`
//   (PRIMARY, or ALL: shared with every sub-account of the owner). The table is rebuilt with an
//   auto-numbered key; rows keep their order (oldest first gets the lowest number). No other table
//   refers to a domain by id (DKIM and the verified-sender check look domains up by name).
// - template ids are chosen by the client (`TemplateForm.id`), so they are unique per account, not
//   across the installation: the key becomes (account_id, id).
// - a channel names the mailings used for its opt-in (confirmation) and opt-out (goodbye) mails.
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';
import { serialIdColumn } from './migration-columns.ts';

const DOMAIN_COLUMNS = [
  'account_id',
  'domain',
  'note',
  'dkim_selector',
  'dkim_private_key',
  'dkim_public_key',
  'spf_verified',
  'dkim_verified',
  'cname_verified',
  'dmarc_verified',
  'status',
  'last_checked_at',
  'created_at',
];

const TEMPLATE_COLUMNS = ['id', 'account_id', 'name', 'subject', 'html', 'text', 'created_at', 'updated_at'];

const columnList = (columns: string[]) => sql.join(columns.map((c) => sql.ref(c)));

async function rebuildSendingDomains(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  const { idType, id } = serialIdColumn(dialect);
  await db.schema
    .createTable('sending_domains_numbered')
    .addColumn('id', idType, id)
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
    .addColumn('assignment', 'text', (c) => c.notNull().defaultTo('PRIMARY'))
    .addColumn('last_checked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO sending_domains_numbered (${columnList(DOMAIN_COLUMNS)})
    SELECT ${columnList(DOMAIN_COLUMNS)} FROM sending_domains ORDER BY created_at, id`.execute(db);
  await db.schema.dropTable('sending_domains').execute();
  await db.schema.alterTable('sending_domains_numbered').renameTo('sending_domains').execute();
  await db.schema
    .createIndex('sending_domains_account_domain')
    .unique()
    .on('sending_domains')
    .columns(['account_id', 'domain'])
    .execute();
  await db.schema.createIndex('sending_domains_domain').on('sending_domains').columns(['domain']).execute();
}

async function rekeyTemplates(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('templates_per_account')
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('templates_account_id_pk', ['account_id', 'id'])
    .execute();
  await sql`INSERT INTO templates_per_account (${columnList(TEMPLATE_COLUMNS)})
    SELECT ${columnList(TEMPLATE_COLUMNS)} FROM templates`.execute(db);
  await db.schema.dropTable('templates').execute();
  await db.schema.alterTable('templates_per_account').renameTo('templates').execute();
  await db.schema.createIndex('templates_account').on('templates').columns(['account_id', 'created_at']).execute();
}

export function contractMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await rebuildSendingDomains(db, dialect);
      await rekeyTemplates(db);
      await db.schema.alterTable('channels').addColumn('opt_in_mailing_id', 'bigint').execute();
      await db.schema.alterTable('channels').addColumn('opt_out_mailing_id', 'bigint').execute();
    },
  };
}
