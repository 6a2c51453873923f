// What GET /whoami reads about an account: its row and whether it manages sub-accounts.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { findAccount, type AccountRow } from './accounts.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface AccountProfile {
  account: AccountRow;
  hasSubAccounts: boolean;
}

export async function findAccountProfile(db: Db, accountId: string): Promise<AccountProfile | undefined> {
  const account = await findAccount(db, accountId);
  if (!account) return undefined;
  const child = await db
    .selectFrom('accounts')
    .select('id')
    .where('parent_id', '=', accountId)
    .limit(1)
    .executeTakeFirst();
  return { account, hasSubAccounts: child !== undefined };
}
