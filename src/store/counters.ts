// Counters (statistics that never scan events): upserts as events are written, and the reads
// behind the statistics endpoints. `value = value + excluded.value` is the same upsert on SQLite
// and PostgreSQL. Every read is scoped to the account(s) the caller may see.
import { createHash } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { CounterDelta, LinkClickDelta } from '../events/counter-deltas.ts';

type Db = Kysely<Database> | Transaction<Database>;

const CHUNK = 2000; // 6 bound values per row: well under SQLite's and PostgreSQL's parameter limits

export const urlHash = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 32);

export async function bumpCounters(db: Db, deltas: CounterDelta[]): Promise<void> {
  for (let i = 0; i < deltas.length; i += CHUNK) {
    await db
      .insertInto('counters')
      .values(deltas.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc
          .columns(['account_id', 'scope', 'scope_id', 'day', 'metric'])
          .doUpdateSet({ value: sql`counters.value + excluded.value` }),
      )
      .execute();
  }
}

export async function bumpLinkClicks(db: Db, deltas: LinkClickDelta[]): Promise<void> {
  const rows = deltas
    .map((d) => ({ ...d, url_hash: urlHash(d.url) }))
    .sort((a, b) => (a.scope_id + a.url_hash < b.scope_id + b.url_hash ? -1 : 1));
  for (const row of rows) {
    await db
      .insertInto('link_clicks')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['account_id', 'scope', 'scope_id', 'url_hash']).doUpdateSet({
          clicks: sql`link_clicks.clicks + excluded.clicks`,
          unique_clicks: sql`link_clicks.unique_clicks + excluded.unique_clicks`,
        }),
      )
      .execute();
  }
}

export interface CounterRange {
  accountIds: string[];
  scope: string;
  scopeId?: string; // one transmission/mailing/domain; all of the scope when absent
  fromDay?: string;
  toDay?: string;
}

function ranged(db: Db, r: CounterRange) {
  let q = db.selectFrom('counters').where('account_id', 'in', r.accountIds).where('scope', '=', r.scope);
  if (r.scopeId !== undefined) q = q.where('scope_id', '=', r.scopeId);
  if (r.fromDay) q = q.where('day', '>=', r.fromDay);
  if (r.toDay) q = q.where('day', '<=', r.toDay);
  return q;
}

/** metric → total over the range. */
export async function sumCounters(db: Db, r: CounterRange): Promise<Record<string, number>> {
  if (r.accountIds.length === 0) return {};
  const rows = await ranged(db, r)
    .select(['metric', (eb) => eb.fn.sum<number>('value').as('total')])
    .groupBy('metric')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.metric, Number(row.total)]));
}

/** group (day, scope id or account id) → metric → total, groups in ascending order. */
export async function groupedCounters(
  db: Db,
  r: CounterRange,
  by: 'day' | 'scope_id' | 'account_id',
): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (r.accountIds.length === 0) return out;
  const rows = await ranged(db, r)
    .select([by, 'metric', (eb) => eb.fn.sum<number>('value').as('total')])
    .groupBy([by, 'metric'])
    .orderBy(by)
    .execute();
  for (const row of rows) {
    const key = String((row as Record<string, unknown>)[by]);
    const metrics = out.get(key) ?? {};
    metrics[row.metric] = Number(row.total);
    out.set(key, metrics);
  }
  return out;
}

export async function listLinkClicks(db: Db, accountId: string, scope: 'transmission' | 'mailing', scopeId: string) {
  const rows = await db
    .selectFrom('link_clicks')
    .select(['url', 'link_index', 'clicks', 'unique_clicks'])
    .where('account_id', '=', accountId)
    .where('scope', '=', scope)
    .where('scope_id', '=', scopeId)
    .orderBy('link_index')
    .orderBy('url')
    .execute();
  return rows.map((r) => ({
    url: r.url,
    linkIndex: Number(r.link_index),
    clicks: Number(r.clicks),
    uniqueClicks: Number(r.unique_clicks),
  }));
}

/**
 * From-address and labels of transmissions, for the counter dimensions. The labels are read out
 * of the stored content by the database (its JSON functions differ by dialect), so a transmission
 * with large attachments is not loaded just to learn its labels.
 */
export async function findTransmissionSources(
  db: Db,
  ids: string[],
): Promise<Array<{ id: string; from_email: string; labels: string | null }>> {
  if (ids.length === 0) return [];
  const isPg = db.getExecutor().adapter instanceof PostgresAdapter;
  const labels = isPg
    ? sql<string | null>`(content::json -> 'labels')::text`
    : sql<string | null>`json_extract(content, '$.labels')`;
  return db
    .selectFrom('transmissions')
    .select(['id', 'from_email', labels.as('labels')])
    .where('id', 'in', ids)
    .execute();
}

/** The mailing a statistics request names, when it is the account's. */
export async function findMailingForStatistics(
  db: Db,
  accountId: string,
  mailingId: number,
): Promise<{ id: number; recipientCount: number } | undefined> {
  const row = await db
    .selectFrom('mailings')
    .select(['id', 'recipient_count'])
    .where('account_id', '=', accountId)
    .where('id', '=', mailingId)
    .executeTakeFirst();
  return row ? { id: Number(row.id), recipientCount: Number(row.recipient_count ?? 0) } : undefined;
}
