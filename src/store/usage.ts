import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Counts `count` accepted messages for the day, `sandboxCount` of them caused by sandbox sends.
 * On PostgreSQL the upsert locks the account's row of the day until the transaction ends, so a
 * quota read after it in the same transaction sees every concurrent committer's messages (see
 * services/quota.ts).
 */
export async function addUsage(db: Db, accountId: string, day: string, count: number, sandboxCount = 0): Promise<void> {
  await db
    .insertInto('account_usage')
    .values({ account_id: accountId, day, sent: count, sandbox_sent: sandboxCount })
    .onConflict((oc) =>
      oc.columns(['account_id', 'day']).doUpdateSet({
        sent: sql`account_usage.sent + ${count}`,
        sandbox_sent: sql`account_usage.sandbox_sent + ${sandboxCount}`,
      }),
    )
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

/** Messages sandbox sends caused on the day (YYYY-MM-DD). */
export async function sandboxUsageOn(db: Db, accountId: string, day: string): Promise<number> {
  const row = await db
    .selectFrom('account_usage')
    .select('sandbox_sent')
    .where('account_id', '=', accountId)
    .where('day', '=', day)
    .executeTakeFirst();
  return Number(row?.sandbox_sent ?? 0);
}
