// Channels: one newsletter offering over the account's shared subscriber list.
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { ChannelsTable, Database } from './schema.ts';
import { deleteAccountRow, findAccountRow, updateAccountRow } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type ChannelRow = { [K in keyof ChannelsTable]: K extends 'id' ? number : ChannelsTable[K] };
export type ChannelChanges = Omit<Updateable<ChannelsTable>, 'id' | 'account_id' | 'created_at'>;

export async function insertChannel(db: Db, row: Omit<Insertable<ChannelsTable>, 'id'>): Promise<number> {
  const inserted = await db.insertInto('channels').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findChannel(db: Db, accountId: string, id: number): Promise<ChannelRow | undefined> {
  return findAccountRow(db, 'channels', accountId, id);
}

export async function countChannels(db: Db, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('channels')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A page of channels in id order. */
export async function listChannels(db: Db, accountId: string, offset: number, limit: number): Promise<ChannelRow[]> {
  return db
    .selectFrom('channels')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('id', 'asc')
    .offset(offset)
    .limit(limit)
    .execute();
}

export async function updateChannel(db: Db, accountId: string, id: number, changes: ChannelChanges): Promise<boolean> {
  return updateAccountRow(db, 'channels', accountId, id, changes);
}

/** Deletes the channel and every subscription to it; false when the account has no such channel. */
export async function deleteChannelWithSubscriptions(
  db: Transaction<Database>,
  accountId: string,
  id: number,
): Promise<boolean> {
  if (!(await deleteAccountRow(db, 'channels', accountId, id))) return false;
  await db.deleteFrom('subscriber_channels').where('account_id', '=', accountId).where('channel_id', '=', id).execute();
  return true;
}
