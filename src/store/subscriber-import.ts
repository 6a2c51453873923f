// What a subscriber import needs to know about the account beyond the subscriber store.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { ALWAYS_SET_COLUMNS, MOSTLY_EMPTY_COLUMNS } from './migration-0006-subscriber-indexes.ts';
import { installPlannerStatistics } from './planner-statistics.ts';

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

// ---------------------------------------------------------------------------------------------
// deferred index maintenance (SQLite): a big import writes its rows without the filter indexes,
// which are built afterwards by one sort each instead of one random B-tree insert per row each.

/** The list-filter indexes of migration 0006, by name, with the statement that builds each. */
const FILTER_INDEXES: ReadonlyArray<{ name: string; create: string }> = [
  ...ALWAYS_SET_COLUMNS.map((col) => ({
    name: `subscribers_live_${col}`,
    create:
      `CREATE INDEX IF NOT EXISTS "subscribers_live_${col}" ON subscribers (account_id, "${col}") ` +
      `WHERE deleted_at IS NULL`,
  })),
  ...MOSTLY_EMPTY_COLUMNS.map((col) => ({
    name: `subscribers_live_${col}`,
    create:
      `CREATE INDEX IF NOT EXISTS "subscribers_live_${col}" ON subscribers (account_id, "${col}") ` +
      `WHERE deleted_at IS NULL AND "${col}" IS NOT NULL`,
  })),
];

/** Live subscribers of the account and of every other account together (one scan of a narrow index). */
export async function liveSubscriberCounts(db: Db, accountId: string): Promise<{ account: number; others: number }> {
  const row = await sql<{ account: number | null; total: number }>`SELECT
      sum(account_id = ${accountId}) AS account, count(*) AS total
    FROM subscribers WHERE deleted_at IS NULL`.execute(db);
  const account = Number(row.rows[0]?.account ?? 0);
  return { account, others: Number(row.rows[0]?.total ?? 0) - account };
}

/**
 * Drops the filter indexes (never the unique email index, which upserts need, nor the id-order
 * index every list starts from). Lists stay right, only slower, until restoreFilterIndexes.
 */
export async function dropFilterIndexes(db: Db): Promise<void> {
  for (const index of FILTER_INDEXES) await sql`DROP INDEX IF EXISTS ${sql.id(index.name)}`.execute(db);
}

/** Names of the filter indexes that do not exist (dropped by an import that has not rebuilt them yet). */
export async function missingFilterIndexes(db: Db): Promise<string[]> {
  const present = await sql<{ name: string }>`SELECT name FROM sqlite_schema WHERE type = 'index'
    AND tbl_name = 'subscribers'`.execute(db);
  const have = new Set(present.rows.map((r) => r.name));
  return FILTER_INDEXES.filter((index) => !have.has(index.name)).map((index) => index.name);
}

/**
 * Builds the filter indexes that are missing and, since DROP INDEX also deleted their planner
 * statistics, writes those again. Each index is one statement (a sort of the live rows); `between`
 * runs after each, so the caller can let waiting requests in. Returns how many were built.
 */
export async function restoreFilterIndexes(db: Db, between: () => Promise<void>): Promise<number> {
  const missing = new Set(await missingFilterIndexes(db));
  for (const index of FILTER_INDEXES) {
    if (!missing.has(index.name)) continue;
    await sql.raw(index.create).execute(db);
    await between();
  }
  if (missing.size > 0) await installPlannerStatistics(db as Kysely<Database>, 'sqlite');
  return missing.size;
}
