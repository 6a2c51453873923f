// What GET /whoami reads about an account: its row and whether it manages sub-accounts.
import type { Kysely, Transaction } from 'kysely';
import type { AccountsTable, Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface AccountProfile {
  account: AccountsTable;
  hasSubAccounts: boolean;
}

export async function findAccountProfile(db: Db, accountId: string): Promise<AccountProfile | undefined> {
  const account = await db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
  if (!account) return undefined;
  const child = await db
    .selectFrom('accounts')
    .select('id')
    .where('parent_id', '=', accountId)
    .limit(1)
    .executeTakeFirst();
  return { account, hasSubAccounts: child !== undefined };
}
