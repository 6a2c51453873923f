// Queries behind double opt-in, unsubscribe and the preferences page: one subscriber and the
// channels of one account, always scoped by account. Erased subscribers (tombstones) are not found.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ChannelsTable, Database, SubscribersTable } from './schema.ts';
import { ADDITION, STATUS } from '../domain/subscriber-status.ts';
import { findAccountRow } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type SubscriberRow = Selectable<SubscribersTable>;
export type ChannelRow = Selectable<ChannelsTable>;

export async function findLiveSubscriber(db: Db, accountId: string, id: number): Promise<SubscriberRow | undefined> {
  return db
    .selectFrom('subscribers')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findChannel(db: Db, accountId: string, id: number): Promise<ChannelRow | undefined> {
  return findAccountRow(db, 'channels', accountId, id);
}

/** The account's channels in id order (a handful per account; the preferences page lists them all). */
export async function listAccountChannels(db: Db, accountId: string, limit = 200): Promise<ChannelRow[]> {
  return db.selectFrom('channels').selectAll().where('account_id', '=', accountId).orderBy('id').limit(limit).execute();
}

export async function subscribedChannelIds(db: Db, accountId: string, subscriberId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('subscriber_channels')
    .select('channel_id')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', subscriberId)
    .orderBy('channel_id')
    .execute();
  return rows.map((r) => Number(r.channel_id));
}

export async function markOptInSent(db: Db, accountId: string, subscriberId: number, at: number): Promise<void> {
  await db
    .updateTable('subscribers')
    .set({ opt_in_sent_at: at, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', subscriberId)
    .execute();
}

/** Pending (2/1) → ready (1/null), recording when and from where. Returns whether this call confirmed. */
export async function confirmPendingSubscriber(
  db: Db,
  accountId: string,
  subscriberId: number,
  ip: string | null,
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('subscribers')
    .set({ status: STATUS.READY, status_addition: null, opt_in_confirmed_at: at, opt_in_ip: ip, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', subscriberId)
    .where('deleted_at', 'is', null)
    .where('status', '=', STATUS.NOT_READY)
    .where('status_addition', '=', ADDITION.OPT_IN_PENDING)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Archives as unsubscribed (3/2) unless the subscriber is archived already (its reason is kept). */
export async function archiveAsUnsubscribed(
  db: Db,
  accountId: string,
  subscriberId: number,
  at: number,
): Promise<void> {
  await db
    .updateTable('subscribers')
    .set({ status: STATUS.ARCHIVED, status_addition: ADDITION.UNSUBSCRIBED, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', subscriberId)
    .where('status', '!=', STATUS.ARCHIVED)
    .execute();
}

export async function addChannelSubscriptions(
  db: Db,
  accountId: string,
  subscriberId: number,
  channelIds: number[],
  at: number,
): Promise<void> {
  if (channelIds.length === 0) return;
  await db
    .insertInto('subscriber_channels')
    .values(
      channelIds.map((channel_id) => ({
        subscriber_id: subscriberId,
        channel_id,
        account_id: accountId,
        created_at: at,
      })),
    )
    .onConflict((oc) => oc.columns(['subscriber_id', 'channel_id']).doNothing())
    .execute();
}

/** Removes the given subscriptions, or all of them when `channelIds` is null. */
export async function removeChannelSubscriptions(
  db: Db,
  accountId: string,
  subscriberId: number,
  channelIds: number[] | null,
): Promise<void> {
  if (channelIds !== null && channelIds.length === 0) return;
  let q = db
    .deleteFrom('subscriber_channels')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', subscriberId);
  if (channelIds !== null) q = q.where('channel_id', 'in', channelIds);
  await q.execute();
}

export interface ProfileChange {
  firstname: string | null;
  lastname: string | null;
  language_iso: string;
}

export async function updateProfile(
  db: Db,
  accountId: string,
  subscriberId: number,
  change: ProfileChange,
  at: number,
): Promise<void> {
  await db
    .updateTable('subscribers')
    .set({ ...change, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', subscriberId)
    .where('deleted_at', 'is', null)
    .execute();
}
