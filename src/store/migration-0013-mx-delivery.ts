// Direct MX delivery: the MTA-STS policies of recipient domains (RFC 8461 wants them cached for
// their max_age across restarts: a cached policy is what keeps a later downgrade attack from
// working), and the optional Ed25519 DKIM key of a sending domain (RFC 8463), signed with next to
// its RSA key.
import type { Kysely, Migration } from 'kysely';

export function mxDeliveryMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mta_sts_policies')
        .addColumn('domain', 'text', (c) => c.primaryKey())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('mx', 'text', (c) => c.notNull()) // JSON array of patterns
        .addColumn('max_age', 'bigint', (c) => c.notNull()) // seconds
        .addColumn('fetched_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.alterTable('sending_domains').addColumn('dkim_ed25519_selector', 'text').execute();
      await db.schema.alterTable('sending_domains').addColumn('dkim_ed25519_private_key', 'text').execute();
      await db.schema.alterTable('sending_domains').addColumn('dkim_ed25519_public_key', 'text').execute();
      await db.schema
        .alterTable('sending_domains')
        .addColumn('dkim_ed25519_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
