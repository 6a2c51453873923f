import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { newId } from '../domain/ids.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The subset of `emails` that is suppressed for the account, with each entry's type. */
export async function findSuppressed(db: Db, accountId: string, emails: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < emails.length; i += 500) {
    const rows = await db
      .selectFrom('suppressions')
      .select(['email', 'type'])
      .where('account_id', '=', accountId)
      .where('email', 'in', emails.slice(i, i + 500))
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
  await db
    .insertInto('suppressions')
    .values({ id: newId(), account_id: accountId, email: email.toLowerCase(), type, reason, created_at: at })
    .onConflict((oc) => oc.columns(['account_id', 'email']).doNothing())
    .execute();
}
