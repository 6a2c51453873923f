// SMTP submission: a submitted message's MIME is kept as it arrived, once per transmission (its
// recipients' messages are built from it at send time), in its own table so that listing and
// reading transmissions never loads it. Bytes, not text: a message may carry 8-bit parts in any
// charset, and PostgreSQL text must be valid UTF-8.
// API keys gain `smtp_ip_auth`: such a key authenticates SMTP connections from its allowed IP
// ranges without AUTH (Postal's "SMTP-IP" credentials, Postfix's mynetworks).
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';

export function smtpSubmissionMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('transmission_mime')
        .addColumn('transmission_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('mime', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .alterTable('api_keys')
        .addColumn('smtp_ip_auth', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
