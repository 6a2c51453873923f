// Soft bounces in a row per account and address (see migration 0008): a row exists only while an
// address's latest outcomes are soft bounces.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

const CHUNK = 500;

/** Ends the streaks of these addresses (delivered, or suppressed). Deletes nothing for most. */
export async function endStreaks(db: Db, accountId: string, emails: readonly string[]): Promise<void> {
  for (let i = 0; i < emails.length; i += CHUNK) {
    await db
      .deleteFrom('soft_bounce_streaks')
      .where('account_id', '=', accountId)
      .where('email', 'in', emails.slice(i, i + CHUNK))
      .execute();
  }
}

/**
 * Adds `bounces` to the address's streak (or starts it at `bounces` when `restart`: a delivery came
 * first in the same batch) and returns the new length.
 */
export async function growStreak(
  db: Db,
  accountId: string,
  email: string,
  bounces: number,
  restart: boolean,
  at: number,
): Promise<number> {
  const row = await db
    .insertInto('soft_bounce_streaks')
    .values({ account_id: accountId, email, count: bounces, last_bounce_at: at })
    .onConflict((oc) =>
      oc.columns(['account_id', 'email']).doUpdateSet({
        count: restart ? sql<number>`excluded.count` : sql<number>`soft_bounce_streaks.count + excluded.count`,
        last_bounce_at: sql<number>`excluded.last_bounce_at`,
      }),
    )
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
