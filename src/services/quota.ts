// The sending limits every way of sending shares (HTTP transmissions, SMTP, mailings, test sends,
// trigger sends): messages per account and UTC day and month, and the sandbox's own daily limit.
//
// Two steps. checkQuota is the early, read-only answer before any work is done (an account already
// at its limit is refused at once). reserveQuota is the one that holds: inside the transaction
// that commits the messages it first adds them to the day's usage, then reads the totals back and
// refuses when they pass a limit, rolling its own addition back with the transaction. On
// PostgreSQL the addition locks the account's usage row of the day until commit, and the read
// that follows (READ COMMITTED: a new snapshot per statement) sees every committer that held the
// lock before, so any number of processes together accept at most the limit. On SQLite the
// writers are serialized anyway.
import type { Kysely, Transaction } from 'kysely';
import type { Context } from '../context.ts';
import { ServiceError } from './errors.ts';
import type { Database } from '../store/schema.ts';
import { addUsage, sandboxUsageOn, usageBetween } from '../store/usage.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface QuotaUse {
  /** Messages to add. */
  messages: number;
  /** How many of them sandbox sends cause (they count against the sandbox daily limit as well). */
  sandbox?: number;
}

export function utcDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Refuses (limit_exceeded, naming the limit) when `use` would pass a limit; changes nothing. */
export async function checkQuota(ctx: Context, db: Db, accountId: string, use: QuotaUse, now: number): Promise<void> {
  await refuseOver(ctx, db, accountId, use, now, false);
}

/**
 * Inside the committing transaction: counts `use` in the day's usage, then refuses (throws, so the
 * transaction rolls the count back) when the totals with it pass a limit.
 */
export async function reserveQuota(
  ctx: Context,
  trx: Transaction<Database>,
  accountId: string,
  use: QuotaUse,
  now: number,
): Promise<void> {
  if (use.messages === 0 && !use.sandbox) return;
  await addUsage(trx, accountId, utcDay(now), use.messages, use.sandbox ?? 0);
  await refuseOver(ctx, trx, accountId, use, now, true);
}

async function refuseOver(
  ctx: Context,
  db: Db,
  accountId: string,
  use: QuotaUse,
  now: number,
  counted: boolean,
): Promise<void> {
  const { dailyLimit, monthlyLimit, sandboxDailyLimit } = ctx.config.quotas;
  const today = utcDay(now);
  // Totals before this use: what the refusal reports as already sent.
  const before = (total: number, adding: number) => (counted ? total - adding : total);
  if (dailyLimit) {
    const used = before(await usageBetween(db, accountId, today, today), use.messages);
    if (used + use.messages > dailyLimit)
      throw new ServiceError(
        'limit_exceeded',
        `daily sending limit of ${dailyLimit} messages reached (${used} sent today)`,
      );
  }
  if (monthlyLimit) {
    const used = before(await usageBetween(db, accountId, today.slice(0, 8) + '01', today), use.messages);
    if (used + use.messages > monthlyLimit)
      throw new ServiceError(
        'limit_exceeded',
        `monthly sending limit of ${monthlyLimit} messages reached (${used} sent this month)`,
      );
  }
  const sandbox = use.sandbox ?? 0;
  if (sandboxDailyLimit && sandbox > 0) {
    const used = before(await sandboxUsageOn(db, accountId, today), sandbox);
    if (used + sandbox > sandboxDailyLimit)
      throw new ServiceError(
        'limit_exceeded',
        `sandbox daily sending limit of ${sandboxDailyLimit} messages reached (${used} sent in the sandbox today)`,
      );
  }
}
