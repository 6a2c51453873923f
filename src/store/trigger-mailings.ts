// Trigger mailings in the store: the live mailings of a key (its language variants), whether a
// key is free for one more variant, the recipient of a send, and the send's one outbox row.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, MessagesTable } from './schema.ts';
import { AUDIENCE_COLUMNS, normalize, type AudienceSubscriber, type MailingRow } from './mailings.ts';
import { LIVE_TRIGGER_STATUSES } from '../domain/trigger-mailings.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The account's live trigger mailings (active and paused), by key, oldest first; of one key if given. */
export async function liveTriggerMailings(db: Db, accountId: string, key?: string): Promise<MailingRow[]> {
  let q = db
    .selectFrom('mailings')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('type', '=', 'trigger')
    .where('trigger_key', 'is not', null)
    .where('status', 'in', LIVE_TRIGGER_STATUSES);
  if (key !== undefined) q = q.where('trigger_key', '=', key);
  const rows = await q.orderBy('trigger_key').orderBy('id').execute();
  return rows.map((r) => normalize(r)!);
}

/** Whether a trigger mailing other than `exceptId` already holds this key and language while live. */
export async function triggerVariantTaken(
  db: Db,
  accountId: string,
  key: string,
  language: string | null,
  exceptId: number,
): Promise<boolean> {
  const row = await db
    .selectFrom('mailings')
    .select('id')
    .where('account_id', '=', accountId)
    .where('trigger_key', '=', key)
    .where(sql<string>`COALESCE(language_iso, '')`, '=', language ?? '')
    .where('status', 'in', LIVE_TRIGGER_STATUSES)
    .where('id', '<>', exceptId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether any mailing of the account (in whatever status) carries this key. */
export async function triggerKeyKnown(db: Db, accountId: string, key: string): Promise<boolean> {
  const row = await db
    .selectFrom('mailings')
    .select('id')
    .where('account_id', '=', accountId)
    .where('trigger_key', '=', key)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export type TriggerRecipient = AudienceSubscriber & { status: number };

/** A live subscriber of the account by (normalized) email, with its status. */
export async function findTriggerRecipient(
  db: Db,
  accountId: string,
  email: string,
): Promise<TriggerRecipient | undefined> {
  const row = await db
    .selectFrom('subscribers')
    .select([...AUDIENCE_COLUMNS, 'status'])
    .where('account_id', '=', accountId)
    .where('email', '=', email)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? { ...row, id: Number(row.id), status: Number(row.status) } : undefined;
}

export async function isInChannel(db: Db, subscriberId: number, channelId: number): Promise<boolean> {
  const row = await db
    .selectFrom('subscriber_channels')
    .select('subscriber_id')
    .where('subscriber_id', '=', subscriberId)
    .where('channel_id', '=', channelId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Queues the send's message and counts it as a recipient of the mailing (caller's transaction). */
export async function insertTriggerMessage(
  trx: Transaction<Database>,
  message: MessagesTable,
  mailingId: number,
): Promise<void> {
  await trx.insertInto('messages').values(message).execute();
  await trx
    .updateTable('mailings')
    .set((eb) => ({ recipient_count: eb('recipient_count', '+', 1) }))
    .where('id', '=', mailingId)
    .execute();
}
