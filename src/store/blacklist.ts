// The blacklist: addresses and whole domains (`*@example.com`) that are never sent to and never
// (re)subscribed. Matching is one indexed IN query over the exact addresses and their domain patterns.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { BlacklistTable, Database } from './schema.ts';
import { deleteAccountRow, findAccountRow, listAccountRows, type ListSpec } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The subset of `emails` (lower-cased) that the account's blacklist matches. */
export async function findBlacklisted(db: Db, accountId: string, emails: string[]): Promise<Set<string>> {
  const lower = [...new Set(emails.map((e) => e.toLowerCase()))];
  const patterns = new Set<string>();
  for (const e of lower) {
    patterns.add(e);
    patterns.add(`*@${e.slice(e.lastIndexOf('@') + 1)}`);
  }
  const hits = new Set<string>();
  const all = [...patterns];
  for (let i = 0; i < all.length; i += 500) {
    const rows = await db
      .selectFrom('blacklist')
      .select('pattern')
      .where('account_id', '=', accountId)
      .where('pattern', 'in', all.slice(i, i + 500))
      .execute();
    for (const r of rows) hits.add(r.pattern);
  }
  if (hits.size === 0) return new Set();
  return new Set(lower.filter((e) => hits.has(e) || hits.has(`*@${e.slice(e.lastIndexOf('@') + 1)}`)));
}

// ---- the list itself (GET/POST /blacklist, DELETE /blacklist/{id})

export type BlacklistRow = { [K in keyof BlacklistTable]: K extends 'id' ? number : BlacklistTable[K] };

/** Inserts the entry unless the account has that pattern already; its id, or null when it does. */
export async function insertBlacklistEntryUnlessTaken(
  db: Db,
  row: { account_id: string; pattern: string; created_at: number },
): Promise<number | null> {
  const inserted = await db
    .insertInto('blacklist')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'pattern']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? Number(inserted.id) : null;
}

export async function findBlacklistEntry(db: Db, accountId: string, id: number): Promise<BlacklistRow | undefined> {
  const row = await findAccountRow(db, 'blacklist', accountId, id);
  return row ? { ...row, id: Number(row.id) } : undefined;
}

export async function listBlacklist(
  db: Db,
  accountId: string,
  query: ListSpec,
): Promise<{ total: number; rows: BlacklistRow[] }> {
  const { total, rows } = await listAccountRows(db, 'blacklist', accountId, query);
  return { total, rows: rows.map((r) => ({ ...r, id: Number(r.id) })) };
}

export async function deleteBlacklistEntry(db: Db, accountId: string, id: number): Promise<boolean> {
  return deleteAccountRow(db, 'blacklist', accountId, id);
}

/**
 * Archives (status 3, statusAddition 3 "manual") the account's live, not yet archived subscribers
 * that a new entry matches; how many. An address is one indexed lookup; a `*@domain` pattern is a
 * suffix match over the account's subscribers (no index serves a suffix), run once per new entry.
 */
export async function archiveSubscribersMatching(
  db: Db,
  accountId: string,
  pattern: string,
  now: number,
): Promise<number> {
  let q = db
    .updateTable('subscribers')
    .set({ status: 3, status_addition: 3, updated_at: now })
    .where('account_id', '=', accountId)
    .where('deleted_at', 'is', null)
    .where('status', '!=', 3);
  if (pattern.startsWith('*@')) {
    // Domains hold only letters, digits, dots and hyphens, but escape the wildcards anyway.
    const suffix = '%@' + pattern.slice(2).replace(/[\\%_]/g, (c) => '\\' + c);
    q = q.where(sql<boolean>`email like ${suffix} escape '\\'`);
  } else {
    q = q.where('email', '=', pattern);
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
