// Custom fields ("customer fields"): the account's extra subscriber, account and mailing fields,
// with their names per language as JSON text. Values live in subscriber_field_values.
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { CustomerFieldsTable, Database } from './schema.ts';
import type { Paging, SearchAst, SortKey } from '../domain/query-grammar.ts';
import { applyPaging, applySearch, applySorting, type SearchColumns } from './query-compiler.ts';
import type { SqlDialect } from './migrations.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type CustomerFieldRow = { [K in keyof CustomerFieldsTable]: K extends 'id' ? number : CustomerFieldsTable[K] };
export type CustomerFieldChanges = Omit<Updateable<CustomerFieldsTable>, 'id' | 'account_id' | 'created_at'>;

export async function insertCustomerField(db: Db, row: Omit<Insertable<CustomerFieldsTable>, 'id'>): Promise<number> {
  const inserted = await db.insertInto('customer_fields').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findCustomerField(db: Db, accountId: string, id: number): Promise<CustomerFieldRow | undefined> {
  const row = await db
    .selectFrom('customer_fields')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? { ...row, id: Number(row.id) } : undefined;
}

export async function listCustomerFields(
  db: Db,
  dialect: SqlDialect,
  accountId: string,
  search: SearchAst,
  sorting: SortKey[],
  paging: Paging,
  columns: SearchColumns,
): Promise<{ total: number; rows: CustomerFieldRow[] }> {
  const base = applySearch(
    db.selectFrom('customer_fields').where('customer_fields.account_id', '=', accountId),
    search,
    columns,
    { dialect },
  );
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    applyPaging(applySorting(base.selectAll('customer_fields'), sorting, columns), paging).execute(),
  ]);
  return { total: Number(count.n), rows: rows.map((r) => ({ ...r, id: Number(r.id) })) };
}

export async function updateCustomerField(
  db: Db,
  accountId: string,
  id: number,
  changes: CustomerFieldChanges,
): Promise<boolean> {
  const r = await db
    .updateTable('customer_fields')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Whether any subscriber has a value for the field (the (field_id, value) index answers it). */
export async function customerFieldHasValues(db: Db, fieldId: number): Promise<boolean> {
  const row = await db
    .selectFrom('subscriber_field_values')
    .select('field_id')
    .where('field_id', '=', fieldId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes the field and every value of it; false when the account has no such field. */
export async function deleteCustomerFieldWithValues(
  db: Transaction<Database>,
  accountId: string,
  id: number,
): Promise<boolean> {
  const r = await db
    .deleteFrom('customer_fields')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) return false;
  await db.deleteFrom('subscriber_field_values').where('field_id', '=', id).execute();
  return true;
}

/** The account's subscriber fields (fieldType 1) in id order: what a Subscriber object lists. */
export async function subscriberFieldTypes(db: Db, accountId: string): Promise<Array<{ id: number; type: number }>> {
  const rows = await db
    .selectFrom('customer_fields')
    .select(['id', 'type'])
    .where('account_id', '=', accountId)
    .where('field_type', '=', 1)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: Number(r.id), type: Number(r.type) }));
}
