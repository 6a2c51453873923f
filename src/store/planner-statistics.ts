// Statistics for SQLite's query planner on the subscribers table, written by hand.
// Without statistics SQLite takes every `col = ?` as selective: for `languageIso = 'de'` sorted by
// `createdAt` it would read and sort 60 % of a million rows instead of walking the createdAt index
// and stopping after one page. ANALYZE would measure the truth but reads every index (about 6 s
// over a million subscribers, blocking the only connection), and its sampling mode
// (analysis_limit) mistakes the single leading account_id for a selective column.
// What the planner needs is the shape of each column, which we know: a status or a language has a
// handful of values, a city or a name thousands, an email or a timestamp one row each. The
// numbers below describe a large list; they only steer the choice between indexes (SQLite's
// documented way: https://sqlite.org/lang_analyze.html, "fixed results"), and the same choice is
// right for a small list.
// PostgreSQL's autovacuum keeps real statistics; nothing to do there.
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './migrations.ts';

const ROWS = 1_000_000;

/** Index name → average rows per value of the (account_id, column) prefix. */
const ROWS_PER_VALUE: Record<string, number> = {
  subscribers_live: 1,
  subscribers_live_email: 1,
  subscribers_live_status: 300_000,
  subscribers_live_gender_id: 300_000,
  subscribers_live_language_iso: 300_000,
  subscribers_live_firstname: 2_000,
  subscribers_live_lastname: 2_000,
  subscribers_live_company: 2_000,
  subscribers_live_city: 2_000,
  subscribers_live_postcode: 100,
  subscribers_live_created_at: 2,
  subscribers_live_updated_at: 2,
};

/** Partial indexes of mostly empty columns: how many rows have a value, and rows per value. */
const SPARSE: Record<string, { rows: number; perValue: number }> = {
  subscribers_live_status_addition: { rows: 200_000, perValue: 50_000 },
  subscribers_live_birthday: { rows: 200_000, perValue: 300 },
  subscribers_live_opt_in_confirmed_at: { rows: 500_000, perValue: 2 },
  subscribers_live_last_opened_at: { rows: 300_000, perValue: 2 },
  subscribers_live_last_clicked_at: { rows: 100_000, perValue: 2 },
};

// Runs right after the migrations, on tables of any version: untyped like the migrations.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function installPlannerStatistics(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  if (dialect !== 'sqlite') return;
  // ANALYZE of a one-row table creates sqlite_stat1 (and sqlite_stat4) when they do not exist yet.
  await sql`ANALYZE subscriber_generation`.execute(db);
  await sql`DELETE FROM sqlite_stat1 WHERE tbl = 'subscribers'`.execute(db);
  const stat4 = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat4'`.execute(
    db,
  );
  if (Number(stat4.rows[0]?.n) > 0) await sql`DELETE FROM sqlite_stat4 WHERE tbl = 'subscribers'`.execute(db);
  const rows: Array<{ idx: string | null; stat: string }> = [{ idx: null, stat: String(ROWS) }];
  for (const [idx, perValue] of Object.entries(ROWS_PER_VALUE)) rows.push({ idx, stat: `${ROWS} ${ROWS} ${perValue}` });
  for (const [idx, s] of Object.entries(SPARSE)) rows.push({ idx, stat: `${s.rows} ${s.rows} ${s.perValue}` });
  for (const r of rows)
    await sql`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('subscribers', ${r.idx}, ${r.stat})`.execute(db);
  // Makes the connection load the statistics just written.
  await sql`ANALYZE sqlite_schema`.execute(db);
}
