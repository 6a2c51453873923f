// The suppression list: one entry per account and (lower-cased) address, with the type that put
// it there. Every query is scoped to the account.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, SuppressionsTable } from './schema.ts';
import { newId } from '../domain/ids.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type SuppressionRow = Selectable<SuppressionsTable>;

const CHUNK = 500;

/** The subset of `emails` that is suppressed for the account, with each entry's type. */
export async function findSuppressed(db: Db, accountId: string, emails: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < emails.length; i += CHUNK) {
    const rows = await db
      .selectFrom('suppressions')
      .select(['email', 'type'])
      .where('account_id', '=', accountId)
      .where('email', 'in', emails.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.set(r.email, r.type);
  }
  return out;
}

/** Adds a suppression; an existing entry for the address is kept (create is idempotent). */
export async function addSuppression(
  db: Db,
  accountId: string,
  email: string,
  type: string,
  reason: string | null,
  at: number,
): Promise<void> {
  await insertSuppression(db, { account_id: accountId, email, type, reason, created_at: at });
}

/**
 * Inserts an entry unless the address has one. Returns the new row, or undefined when an entry
 * existed (it is left as it was).
 */
export async function insertSuppression(
  db: Db,
  entry: Omit<SuppressionRow, 'id'>,
): Promise<SuppressionRow | undefined> {
  const row = { ...entry, id: newId(), email: entry.email.toLowerCase() };
  const inserted = await db
    .insertInto('suppressions')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'email']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? row : undefined;
}

/**
 * Widens an entry that holds back marketing mail only (`unsubscribe`) to a type that holds back
 * everything (a later hard bounce, complaint or manual entry for the same address). Returns the
 * changed row, or undefined when the address has no unsubscribe entry.
 */
export async function widenUnsubscribeEntry(
  db: Db,
  accountId: string,
  email: string,
  type: string,
  reason: string | null,
): Promise<SuppressionRow | undefined> {
  return db
    .updateTable('suppressions')
    .set({ type, reason })
    .where('account_id', '=', accountId)
    .where('email', '=', email.toLowerCase())
    .where('type', '=', 'unsubscribe')
    .returningAll()
    .executeTakeFirst();
}

export async function findSuppressionById(db: Db, accountId: string, id: string): Promise<SuppressionRow | undefined> {
  return db
    .selectFrom('suppressions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findSuppressionByEmail(
  db: Db,
  accountId: string,
  email: string,
): Promise<SuppressionRow | undefined> {
  return db
    .selectFrom('suppressions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('email', '=', email.toLowerCase())
    .executeTakeFirst();
}

export interface SuppressionFilter {
  accountId: string;
  type?: string;
  /** Exact (lower-cased) address. */
  email?: string;
}

/** A page of the list, newest first, with the total of the filter. */
export async function listSuppressions(
  db: Db,
  filter: SuppressionFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: SuppressionRow[] }> {
  let base = db.selectFrom('suppressions').where('account_id', '=', filter.accountId);
  if (filter.type !== undefined) base = base.where('type', '=', filter.type);
  if (filter.email !== undefined) base = base.where('email', '=', filter.email.toLowerCase());
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return { total: Number(count.n), rows };
}

export async function deleteSuppression(db: Db, accountId: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom('suppressions')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Removes the entries of these addresses (a subscriber reactivated by the marketing rules). */
export async function deleteSuppressionsByEmail(db: Db, accountId: string, emails: readonly string[]): Promise<void> {
  const lower = [...new Set(emails.map((e) => e.toLowerCase()))];
  for (let i = 0; i < lower.length; i += CHUNK) {
    await db
      .deleteFrom('suppressions')
      .where('account_id', '=', accountId)
      .where('email', 'in', lower.slice(i, i + CHUNK))
      .execute();
  }
}
