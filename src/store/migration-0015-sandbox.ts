// The sandbox: a mailing remembers whether a sandbox key sent it (its messages are captured), the
// daily usage counts sandbox messages apart (the sandbox daily limit), and the authorized sandbox
// recipients of an account with their consent state (/v1/sandbox/recipients, /p/consent/{token}).
import type { Kysely, Migration } from 'kysely';

export function sandboxMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('mailings')
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('account_usage')
        .addColumn('sandbox_sent', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('sandbox_recipients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('email', 'text', (c) => c.notNull()) // lower-cased
        .addColumn('status', 'text', (c) => c.notNull()) // unverified | verified
        .addColumn('consent_nonce', 'text', (c) => c.notNull().unique())
        .addColumn('consent_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consented_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sandbox_recipients_account_email')
        .on('sandbox_recipients')
        .columns(['account_id', 'email'])
        .unique()
        .execute();
    },
  };
}
