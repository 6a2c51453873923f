import type { Kysely, Transaction } from 'kysely';
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

export async function insertTemplate(db: Db, row: TemplatesTable): Promise<void> {
  await db.insertInto('templates').values(row).execute();
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

export async function listTemplates(
  db: Db,
  accountId: string,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: TemplatesTable[] }> {
  const base = db.selectFrom('templates').where('account_id', '=', accountId);
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return { count: Number(c.n), rows };
}
