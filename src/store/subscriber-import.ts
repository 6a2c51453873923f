// What a subscriber import needs to know about the account beyond the subscriber store.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The account's subscriber custom fields (field_type 1): id → type and whether imports may set it. */
export async function importableFieldInfo(
  db: Db,
  accountId: string,
): Promise<Map<number, { type: number; importable: boolean }>> {
  const rows = await db
    .selectFrom('customer_fields')
    .select(['id', 'type', 'is_available_for_import'])
    .where('account_id', '=', accountId)
    .where('field_type', '=', 1)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), { type: r.type, importable: r.is_available_for_import === 1 }]));
}

/** Whether the account has any blacklist entry (most have none, and then no address needs matching). */
export async function hasBlacklist(db: Db, accountId: string): Promise<boolean> {
  const row = await db
    .selectFrom('blacklist')
    .select('id')
    .where('account_id', '=', accountId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Refreshes PostgreSQL's planner statistics of the subscriber tables. A bulk load grows them
 * faster than autovacuum re-analyzes; with stale statistics the planner takes an email lookup for
 * a scan of the whole account. SQLite's planner needs no statistics for these lookups.
 */
export async function refreshSubscriberStatistics(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`analyze subscribers`.execute(db);
  await sql`analyze subscriber_field_values`.execute(db);
}
