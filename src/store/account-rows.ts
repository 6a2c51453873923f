// The SQL every marketing table with an integer id and an account_id shares: one row by id, a
// change or removal of one row, and the searched, sorted, paged list with its total. Each is
// scoped to the account, so one account never reads or touches another's rows by id.
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Database } from './schema.ts';
import type { Paging, SearchAst, SortKey } from '../domain/query-grammar.ts';
import { applyPaging, applySearch, applySorting, type SearchColumns } from './query-compiler.ts';
import type { SqlDialect } from './migrations.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The tables these helpers serve: an integer id and the owning account_id. */
export type AccountTable = 'blacklist' | 'channels' | 'customer_fields' | 'mailings' | 'subscriber_groups';

/** The marketing list parameters: search, sorting and page, and how search fields map to columns. */
export interface ListSpec {
  dialect: SqlDialect;
  search: SearchAst;
  sorting: SortKey[];
  paging: Paging;
  columns: SearchColumns;
}

export async function findAccountRow<T extends AccountTable>(
  db: Db,
  table: T,
  accountId: string,
  id: number,
): Promise<Selectable<Database[T]> | undefined> {
  // Kysely types its queries over the plain union; over the generic T they stay opaque.
  const from: AccountTable = table;
  const row = await db
    .selectFrom(from)
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row as Selectable<Database[T]> | undefined;
}

/** Whether the account had the row to change. */
export async function updateAccountRow<T extends AccountTable>(
  db: Db,
  table: T,
  accountId: string,
  id: number,
  changes: Updateable<Database[T]>,
): Promise<boolean> {
  const from: AccountTable = table;
  const r = await db
    .updateTable(from)
    .set(changes)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Whether the account had the row to delete. */
export async function deleteAccountRow(db: Db, table: AccountTable, accountId: string, id: number): Promise<boolean> {
  const r = await db.deleteFrom(table).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** One page of the account's rows that match the search, in the asked order, and how many match. */
export async function listAccountRows<T extends AccountTable>(
  db: Db,
  table: T,
  accountId: string,
  query: ListSpec,
): Promise<{ total: number; rows: Selectable<Database[T]>[] }> {
  const from: AccountTable = table;
  const base = applySearch(
    db.selectFrom(from).where(`${from}.account_id`, '=', accountId),
    query.search,
    query.columns,
    { dialect: query.dialect },
  );
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    applyPaging(applySorting(base.selectAll(from), query.sorting, query.columns), query.paging).execute(),
  ]);
  return { total: Number(count.n), rows: rows as Selectable<Database[T]>[] };
}
