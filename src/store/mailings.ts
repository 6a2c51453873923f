// Mailings and their fan-out into the outbox. The audience is one WHERE over the account's
// subscribers (so each subscriber is naturally there once, however many target groups hold it),
// walked in id order after a cursor; a batch's messages and the cursor move in one transaction.
import {
  sql,
  type Expression,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Transaction,
  type Updateable,
} from 'kysely';
import type { Database, MailingsTable, MessagesTable, SubscribersTable } from './schema.ts';
import type { Paging, SearchAst, SortKey } from '../domain/query-grammar.ts';
import {
  applyPaging,
  applySearch,
  applySorting,
  searchExpression,
  type AnyExpressionBuilder,
  type SearchColumns,
} from './query-compiler.ts';
import type { SubscriberQueryShape } from './subscriber-groups.ts';
import type { SqlDialect } from './migrations.ts';
import { findAccountRow, listAccountRows, type ListSpec } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;
type WithNumbers<T> = {
  [K in keyof T]: K extends 'id' | 'channel_id' | 'recipient_count' | 'fanout_cursor'
    ? null extends T[K]
      ? number | null
      : number
    : T[K];
};
export type MailingRow = WithNumbers<Selectable<MailingsTable>>;
export type MailingChanges = Omit<Updateable<MailingsTable>, 'id' | 'account_id' | 'created_at'>;
export type AudienceSubscriber = Pick<
  SubscribersTable,
  | 'email'
  | 'gender_id'
  | 'language_iso'
  | 'title'
  | 'firstname'
  | 'lastname'
  | 'company'
  | 'street'
  | 'postcode'
  | 'city'
  | 'phone_number'
  | 'birthday'
> & { id: number };

/** Messages of a mailing that are not finished yet (held = waiting while the mailing is paused). */
const OPEN_STATUSES = ['queued', 'deferred', 'sending', 'held'];

/** Postgres returns bigint columns as strings: ids and counters become numbers here. */
export function normalize(row: Selectable<MailingsTable> | undefined): MailingRow | undefined {
  if (!row) return undefined;
  return {
    ...row,
    id: Number(row.id),
    channel_id: row.channel_id === null ? null : Number(row.channel_id),
    recipient_count: Number(row.recipient_count),
    fanout_cursor: Number(row.fanout_cursor),
    scheduled_at: row.scheduled_at === null ? null : Number(row.scheduled_at),
    started_at: row.started_at === null ? null : Number(row.started_at),
    sent_at: row.sent_at === null ? null : Number(row.sent_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

export async function insertMailing(db: Db, row: Omit<Insertable<MailingsTable>, 'id'>): Promise<number> {
  const inserted = await db.insertInto('mailings').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findMailing(db: Db, accountId: string, id: number): Promise<MailingRow | undefined> {
  return normalize(await findAccountRow(db, 'mailings', accountId, id));
}

export async function listMailings(
  db: Db,
  accountId: string,
  query: ListSpec,
): Promise<{ total: number; rows: MailingRow[] }> {
  const { total, rows } = await listAccountRows(db, 'mailings', accountId, query);
  return { total, rows: rows.map((r) => normalize(r)!) };
}

/** Changes the mailing only while it is in one of `statuses`; whether it did. */
export async function updateMailingIn(
  db: Db,
  accountId: string,
  id: number,
  statuses: readonly string[],
  changes: MailingChanges,
): Promise<boolean> {
  const r = await db
    .updateTable('mailings')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('status', 'in', statuses)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteMailingIn(
  db: Db,
  accountId: string,
  id: number,
  statuses: readonly string[],
): Promise<boolean> {
  const r = await db
    .deleteFrom('mailings')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('status', 'in', statuses)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// ---- pause, resume, cancel: the mailing's unsent messages

export async function setOpenMessages(
  db: Db,
  mailingId: number,
  from: readonly string[],
  to: string,
  now: number,
): Promise<number> {
  const r = await db
    .updateTable('messages')
    .set({ status: to, updated_at: now })
    .where('mailing_id', '=', String(mailingId))
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function countOpenMessages(db: Db, mailingId: number): Promise<number> {
  const row = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('mailing_id', '=', String(mailingId))
    .where('status', 'in', OPEN_STATUSES)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---- the fan-out loop

/** Scheduled mailings whose time has come start sending; how many did. */
export async function startDueScheduled(db: Db, now: number): Promise<number> {
  const r = await db
    .updateTable('mailings')
    .set({ status: 'sending', started_at: now, updated_at: now })
    .where('status', '=', 'scheduled')
    .where('scheduled_at', '<=', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Running mailings with recipients still to materialize whose lease is free (or ours). */
export async function mailingsToFanOut(db: Db, owner: string, now: number, limit: number): Promise<MailingRow[]> {
  const rows = await db
    .selectFrom('mailings')
    .selectAll()
    .where('status', '=', 'sending')
    .where('fanout_done', '=', 0)
    .where('type', '<>', 'trigger') // a trigger mailing has no audience; it sends when triggered
    .where((eb) =>
      eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_expires_at', '<', now)]),
    )
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => normalize(r)!);
}

/** Takes (or renews) the fan-out lease of a running mailing; false when another node holds it. */
export async function takeFanoutLease(
  db: Db,
  id: number,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<boolean> {
  const r = await db
    .updateTable('mailings')
    .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where((eb) =>
      eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_expires_at', '<', now)]),
    )
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Gives up fan-out leases: this owner's (an orderly stop), or every one (SQLite's single process at start). */
export async function releaseFanoutLeases(db: Db, owner: string | null): Promise<void> {
  let q = db
    .updateTable('mailings')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('lease_owner', 'is not', null);
  if (owner !== null) q = q.where('lease_owner', '=', owner);
  await q.execute();
}

/** Which of these (freshly made) message ids are in the outbox. */
export async function existingMessageIds(db: Db, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('messages')
      .select('id')
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** Who a mailing goes to: the filters the audience query applies besides the cursor. */
export interface AudienceFilter {
  accountId: string;
  channelId: number | null;
  /** null: every ready subscriber (no groups given); otherwise members of any of these. */
  groups: { staticIds: number[]; dynamic: SearchAst[] } | null;
}

/** The subscriber columns a mailing renders with (also the recipient of a trigger send). */
export const AUDIENCE_COLUMNS = [
  'id',
  'email',
  'gender_id',
  'language_iso',
  'title',
  'firstname',
  'lastname',
  'company',
  'street',
  'postcode',
  'city',
  'phone_number',
  'birthday',
] as const;

/**
 * The next `limit` subscribers of the audience after `afterId`, in id order: live, ready (status 1),
 * with an address, in the channel if one is given, and in any target group (static rows or a
 * dynamic group's conditions evaluated now). Suppressions and the blacklist are applied by the caller.
 */
export async function audienceBatch(
  db: Db,
  filter: AudienceFilter,
  shape: SubscriberQueryShape,
  afterId: number,
  limit: number,
): Promise<AudienceSubscriber[]> {
  const rows = await audienceQuery(db, filter, shape)
    .select(AUDIENCE_COLUMNS.map((c) => `subscribers.${c}` as const))
    .where('subscribers.id', '>', afterId)
    .orderBy('subscribers.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** How many subscribers the audience has now (before suppressions and the blacklist). */
export async function countAudience(db: Db, filter: AudienceFilter, shape: SubscriberQueryShape): Promise<number> {
  const row = await audienceQuery(db, filter, shape)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The subscribers of an audience (see audienceBatch), for the caller to select from. */
function audienceQuery(db: Db, filter: AudienceFilter, shape: SubscriberQueryShape) {
  let q = db
    .selectFrom('subscribers')
    .where('subscribers.account_id', '=', filter.accountId)
    .where('subscribers.deleted_at', 'is', null)
    .where('subscribers.status', '=', 1)
    .where('subscribers.email', 'is not', null);
  if (filter.channelId !== null) {
    const channelId = filter.channelId;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('subscriber_channels')
          .select(sql.lit(1).as('one'))
          .whereRef('subscriber_channels.subscriber_id', '=', 'subscribers.id')
          .where('subscriber_channels.channel_id', '=', channelId),
      ),
    );
  }
  if (filter.groups) {
    const { staticIds, dynamic } = filter.groups;
    q = q.where((eb) => {
      const any: Expression<SqlBool>[] = [];
      if (staticIds.length > 0) {
        any.push(
          eb.exists(
            eb
              .selectFrom('subscriber_group_members')
              .select(sql.lit(1).as('one'))
              .whereRef('subscriber_group_members.subscriber_id', '=', 'subscribers.id')
              .where('subscriber_group_members.group_id', 'in', staticIds),
          ),
        );
      }
      for (const ast of dynamic) {
        any.push(
          ast.clauses.length === 0
            ? sql<SqlBool>`1 = 1`
            : searchExpression(eb as AnyExpressionBuilder, ast, shape.columns, {
                dialect: shape.dialect,
                customField: shape.customField,
              }),
        );
      }
      return any.length === 0 ? sql<SqlBool>`1 = 0` : eb.or(any);
    });
  }
  return q;
}

/**
 * One fan-out step in the caller's transaction: moves the cursor (only while the mailing is still
 * sending and the lease is ours — the row lock also orders this against a concurrent pause or
 * cancel), then inserts the messages; a message that exists already (the same step repeated after
 * a crash) is skipped. Returns how many messages were new, or null when the step must not happen.
 */
export async function commitFanoutStep(
  trx: Transaction<Database>,
  mailingId: number,
  owner: string,
  cursor: number,
  done: boolean,
  messages: MessagesTable[],
  now: number,
  leaseMs: number,
): Promise<number | null> {
  const moved = await trx
    .updateTable('mailings')
    .set({ fanout_cursor: cursor, fanout_done: done ? 1 : 0, lease_expires_at: now + leaseMs })
    .where('id', '=', mailingId)
    .where('status', '=', 'sending')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) === 0) return null;
  let inserted = 0;
  // 25 columns × 400 rows stays under SQLite's bound-parameter limit.
  for (let i = 0; i < messages.length; i += 400) {
    const r = await trx
      .insertInto('messages')
      .values(messages.slice(i, i + 400))
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  if (inserted > 0) {
    await trx
      .updateTable('mailings')
      .set((eb) => ({ recipient_count: eb('recipient_count', '+', inserted) }))
      .where('id', '=', mailingId)
      .execute();
  }
  return inserted;
}

/** Running mailings whose fan-out is done: candidates for "sent". */
export async function fannedOutMailings(db: Db, limit: number): Promise<Array<{ id: number; account_id: string }>> {
  // An active trigger mailing stays "sending" (active) however many of its messages are done.
  const rows = await db
    .selectFrom('mailings')
    .select(['id', 'account_id'])
    .where('status', '=', 'sending')
    .where('fanout_done', '=', 1)
    .where('type', '<>', 'trigger')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), account_id: r.account_id }));
}

/** sending → sent, once no message of the mailing is left open; whether it happened now. */
export async function markSentIfFinished(trx: Transaction<Database>, id: number, now: number): Promise<boolean> {
  if ((await countOpenMessages(trx, id)) > 0) return false;
  const r = await trx
    .updateTable('mailings')
    .set({ status: 'sent', sent_at: now, updated_at: now, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('fanout_done', '=', 1)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

// ---- recipients

export const RECIPIENT_COLUMNS: SearchColumns = {
  // The grammar's default order (id asc) lists recipients by subscriber.
  id: 'messages.subscriber_id',
  subscriberId: 'messages.subscriber_id',
  email: 'messages.recipient',
  status: 'messages.status',
  createdAt: 'messages.created_at',
  updatedAt: 'messages.updated_at',
};

export async function listRecipients(
  db: Db,
  dialect: SqlDialect,
  accountId: string,
  mailingId: number,
  search: SearchAst,
  sorting: SortKey[],
  paging: Paging,
): Promise<{ total: number; rows: MessagesTable[] }> {
  const base = applySearch(
    db
      .selectFrom('messages')
      .where('messages.account_id', '=', accountId)
      .where('messages.mailing_id', '=', String(mailingId)),
    search,
    RECIPIENT_COLUMNS,
    { dialect },
  );
  const ordered = applySorting(base.selectAll('messages'), sorting, RECIPIENT_COLUMNS).orderBy('messages.id');
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    applyPaging(ordered, paging).execute(),
  ]);
  return { total: Number(count.n), rows };
}

/** A live subscriber's fields for rendering (preview, web view). */
export async function findAudienceSubscriber(
  db: Db,
  accountId: string,
  id: number,
): Promise<AudienceSubscriber | undefined> {
  const row = await db
    .selectFrom('subscribers')
    .select(AUDIENCE_COLUMNS.map((c) => `subscribers.${c}` as const))
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? { ...row, id: Number(row.id) } : undefined;
}

export async function findAudienceSubscriberByEmail(
  db: Db,
  accountId: string,
  email: string,
): Promise<AudienceSubscriber | undefined> {
  const row = await db
    .selectFrom('subscribers')
    .select(AUDIENCE_COLUMNS.map((c) => `subscribers.${c}` as const))
    .where('account_id', '=', accountId)
    .where('email', '=', email.toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? { ...row, id: Number(row.id) } : undefined;
}

/** The account's subscriber custom fields: id → names (from the translations) for rendering. */
export async function subscriberFieldNames(db: Db, accountId: string): Promise<Map<number, string[]>> {
  const rows = await db
    .selectFrom('customer_fields')
    .select(['id', 'translations'])
    .where('account_id', '=', accountId)
    .where('field_type', '=', 1)
    .execute();
  const out = new Map<number, string[]>();
  for (const r of rows) {
    let names: string[] = [];
    try {
      const t = JSON.parse(r.translations) as Record<string, { name?: unknown }>;
      names = Object.values(t)
        .map((x) => x?.name)
        .filter((n): n is string => typeof n === 'string' && n.trim() !== '');
    } catch {
      /* no names: the field is reachable by id only */
    }
    out.set(Number(r.id), [...new Set(names)]);
  }
  return out;
}
