// The web dashboard: its users (email + scrypt password hash), its sessions and the one-time
// sign-in links (first start). Session and link tokens are kept only as SHA-256 hashes, so a copy
// of the database signs no one in.
import type { Kysely, Migration } from 'kysely';

export function dashboardMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('dashboard_users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull()) // scrypt$N$r$p$salt$hash
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dashboard_users_email').on('dashboard_users').column('email').unique().execute();

      await db.schema
        .createTable('dashboard_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        // Exactly one of the two: the session acts with this key's permissions, or as this user.
        .addColumn('api_key_id', 'text')
        .addColumn('user_id', 'text')
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('dashboard_sessions_principal')
        .on('dashboard_sessions')
        .columns(['account_id', 'api_key_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('dashboard_sign_in_links')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('api_key_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
