// What opens and clicks read and touch besides events and counters: the tracked message, the
// first-engagement markers that make unique counts exact, and the subscriber's last open/click.
import type { Kysely, Transaction } from 'kysely';
import type { Database, MessagesTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export type TrackedMessage = MessagesTable & { subscriber_id?: number | string | null };

export async function findTrackedMessage(
  db: Db,
  accountId: string,
  messageId: string,
): Promise<TrackedMessage | undefined> {
  // selectAll: messages of mailings carry subscriber_id (added by the mailings migration).
  return db
    .selectFrom('messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', messageId)
    .executeTakeFirst();
}

/**
 * Marks first engagements (kinds like 'open', 'click', 'click:<hash>') of one message; returns the
 * kinds that were new. A concurrent writer of the same marker waits for the other's commit, so
 * exactly one of them sees it as new.
 */
export async function claimFirsts(
  db: Db,
  accountId: string,
  messageId: string,
  kinds: string[],
  at: number,
): Promise<Set<string>> {
  if (kinds.length === 0) return new Set();
  const inserted = await db
    .insertInto('engagement_firsts')
    .values(kinds.map((kind) => ({ message_id: messageId, kind, account_id: accountId, created_at: at })))
    .onConflict((oc) => oc.columns(['message_id', 'kind']).doNothing())
    .returning('kind')
    .execute();
  return new Set(inserted.map((r) => r.kind));
}

/** The behaviour fields dynamic groups filter on (lastOpenedAt, lastClickedAt). */
export async function touchSubscriberEngagement(
  db: Db,
  accountId: string,
  subscriberId: number,
  field: 'last_opened_at' | 'last_clicked_at',
  at: number,
): Promise<void> {
  await db
    .updateTable('subscribers')
    .set({ [field]: at })
    .where('account_id', '=', accountId)
    .where('id', '=', subscriberId)
    .execute();
}
