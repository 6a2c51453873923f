// Custom fields ("customer fields"): the account's extra subscriber, account and mailing fields,
// with their names per language as JSON text. Values live in subscriber_field_values.
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { CustomerFieldsTable, Database } from './schema.ts';
import { deleteAccountRow, findAccountRow, listAccountRows, updateAccountRow, type ListSpec } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type CustomerFieldRow = { [K in keyof CustomerFieldsTable]: K extends 'id' ? number : CustomerFieldsTable[K] };
export type CustomerFieldChanges = Omit<Updateable<CustomerFieldsTable>, 'id' | 'account_id' | 'created_at'>;

export async function insertCustomerField(db: Db, row: Omit<Insertable<CustomerFieldsTable>, 'id'>): Promise<number> {
  const inserted = await db.insertInto('customer_fields').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findCustomerField(db: Db, accountId: string, id: number): Promise<CustomerFieldRow | undefined> {
  const row = await findAccountRow(db, 'customer_fields', accountId, id);
  return row ? { ...row, id: Number(row.id) } : undefined;
}

export async function listCustomerFields(
  db: Db,
  accountId: string,
  query: ListSpec,
): Promise<{ total: number; rows: CustomerFieldRow[] }> {
  const { total, rows } = await listAccountRows(db, 'customer_fields', accountId, query);
  return { total, rows: rows.map((r) => ({ ...r, id: Number(r.id) })) };
}

export async function updateCustomerField(
  db: Db,
  accountId: string,
  id: number,
  changes: CustomerFieldChanges,
): Promise<boolean> {
  return updateAccountRow(db, 'customer_fields', accountId, id, changes);
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
  if (!(await deleteAccountRow(db, 'customer_fields', accountId, id))) return false;
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
