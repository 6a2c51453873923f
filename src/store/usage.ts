import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function addUsage(db: Db, accountId: string, day: string, count: number): Promise<void> {
  await db
    .insertInto('account_usage')
    .values({ account_id: accountId, day, sent: count })
    .onConflict((oc) => oc.columns(['account_id', 'day']).doUpdateSet({ sent: sql`account_usage.sent + ${count}` }))
    .execute();
}

/** Sum of accepted messages for days in [fromDay, toDay] (inclusive, YYYY-MM-DD). */
export async function usageBetween(db: Db, accountId: string, fromDay: string, toDay: string): Promise<number> {
  const row = await db
    .selectFrom('account_usage')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('sent'), sql<number>`0`).as('n'))
    .where('account_id', '=', accountId)
    .where('day', '>=', fromDay)
    .where('day', '<=', toDay)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
