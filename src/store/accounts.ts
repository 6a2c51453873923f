import type { Kysely } from 'kysely';
import type { Database, AccountsTable } from './schema.ts';

export async function insertAccount(db: Kysely<Database>, account: AccountsTable): Promise<void> {
  await db.insertInto('accounts').values(account).execute();
}

export async function findAccount(db: Kysely<Database>, id: string): Promise<AccountsTable | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countAccounts(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
