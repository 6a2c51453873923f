import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, TemplatesTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function findTemplate(db: Db, accountId: string, id: string): Promise<TemplatesTable | undefined> {
  return db
    .selectFrom('templates')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Inserts the template unless the account has one with that id; false when it has. */
export async function insertTemplateUnlessTaken(db: Db, row: TemplatesTable): Promise<boolean> {
  const r = await db
    .insertInto('templates')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function updateTemplate(
  db: Db,
  accountId: string,
  id: string,
  changes: Partial<Pick<TemplatesTable, 'name' | 'subject' | 'html' | 'text' | 'updated_at'>>,
): Promise<boolean> {
  const r = await db
    .updateTable('templates')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteTemplate(db: Db, accountId: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom('templates')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** A page of templates, newest first; `search` matches part of the id or name, any case. */
export async function listTemplates(
  db: Db,
  accountId: string,
  search: string | undefined,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: TemplatesTable[] }> {
  let base = db.selectFrom('templates').where('account_id', '=', accountId);
  if (search) {
    const pattern = '%' + search.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    base = base.where(sql<boolean>`(lower(name) like ${pattern} escape '\\' or lower(id) like ${pattern} escape '\\')`);
  }
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return { count: Number(c.n), rows };
}
