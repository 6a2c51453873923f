// Subscriber groups and their members. A static or external group's members are rows of
// subscriber_group_members; a dynamic group has none and its members are the subscribers its
// search matches, evaluated when asked. Erased subscribers (deleted_at set) are never members.
import { type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely';
import type { Database, SubscriberGroupsTable, SubscribersTable } from './schema.ts';
import type { Paging, SearchAst, SortKey } from '../domain/query-grammar.ts';
import {
  applyPaging,
  applySearch,
  applySorting,
  searchExpression,
  type AnyExpressionBuilder,
  type CustomFieldHook,
  type SearchColumns,
} from './query-compiler.ts';
import type { SqlDialect } from './migrations.ts';
import { deleteAccountRow, findAccountRow, listAccountRows, updateAccountRow, type ListSpec } from './account-rows.ts';

type Db = Kysely<Database> | Transaction<Database>;
type WithNumericId<T> = { [K in keyof T]: K extends 'id' ? number : T[K] };

export type GroupRow = WithNumericId<SubscriberGroupsTable>;
export type SubscriberRow = WithNumericId<SubscribersTable>;
export type GroupChanges = Omit<Updateable<SubscriberGroupsTable>, 'id' | 'account_id' | 'created_at'>;

/** How the subscriber columns are searched (from services/subscriber-search.ts). */
export interface SubscriberQueryShape {
  dialect: SqlDialect;
  columns: SearchColumns;
  customField: CustomFieldHook;
  lowerCasedFields?: ReadonlySet<string>;
}

/** Which subscribers a group holds: its member rows, or a search over the account's subscribers. */
export type Membership = { kind: 'rows'; groupId: number } | { kind: 'search'; ast: SearchAst };

const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

// ---- groups

/** Inserts the group unless the account has one of that name; its id, or null when taken. */
export async function insertGroupUnlessTaken(
  db: Db,
  row: Omit<Insertable<SubscriberGroupsTable>, 'id'>,
): Promise<number | null> {
  const inserted = await db
    .insertInto('subscriber_groups')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'name']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? Number(inserted.id) : null;
}

export async function findGroup(db: Db, accountId: string, id: number): Promise<GroupRow | undefined> {
  return findAccountRow(db, 'subscriber_groups', accountId, id);
}

export async function groupNameTaken(db: Db, accountId: string, name: string, exceptId: number): Promise<boolean> {
  const row = await db
    .selectFrom('subscriber_groups')
    .select('id')
    .where('account_id', '=', accountId)
    .where('name', '=', name)
    .where('id', '!=', exceptId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function updateGroup(db: Db, accountId: string, id: number, changes: GroupChanges): Promise<boolean> {
  return updateAccountRow(db, 'subscriber_groups', accountId, id, changes);
}

export async function deleteGroupWithMembers(
  db: Transaction<Database>,
  accountId: string,
  id: number,
): Promise<boolean> {
  if (!(await deleteAccountRow(db, 'subscriber_groups', accountId, id))) return false;
  await db.deleteFrom('subscriber_group_members').where('group_id', '=', id).execute();
  return true;
}

export async function listGroups(
  db: Db,
  accountId: string,
  query: ListSpec,
): Promise<{ total: number; rows: GroupRow[] }> {
  return listAccountRows(db, 'subscriber_groups', accountId, query);
}

/** The account's dynamic groups and their stored conditions (to see which custom fields they use). */
export async function dynamicGroupConditions(
  db: Db,
  accountId: string,
): Promise<Array<{ id: number; name: string; conditions: string | null }>> {
  const rows = await db
    .selectFrom('subscriber_groups')
    .select(['id', 'name', 'conditions'])
    .where('account_id', '=', accountId)
    .where('type', '=', 2)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), name: r.name, conditions: r.conditions }));
}

// ---- members

/** Member rows of live subscribers per group, for the given static/external groups. */
export async function countMemberRows(db: Db, groupIds: number[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>(groupIds.map((id) => [id, 0]));
  for (const ids of chunks(groupIds)) {
    const rows = await db
      .selectFrom('subscriber_group_members')
      .innerJoin('subscribers', 'subscribers.id', 'subscriber_group_members.subscriber_id')
      .select(['subscriber_group_members.group_id as groupId', (eb) => eb.fn.countAll<number>().as('n')])
      .where('subscriber_group_members.group_id', 'in', ids)
      .where('subscribers.deleted_at', 'is', null)
      .groupBy('subscriber_group_members.group_id')
      .execute();
    for (const r of rows) counts.set(Number(r.groupId), Number(r.n));
  }
  return counts;
}

function subscribersOf(db: Db, accountId: string, membership: Membership, shape: SubscriberQueryShape) {
  const base = db
    .selectFrom('subscribers')
    .where('subscribers.account_id', '=', accountId)
    .where('subscribers.deleted_at', 'is', null);
  if (membership.kind === 'rows') {
    return base.where('subscribers.id', 'in', (eb) =>
      eb
        .selectFrom('subscriber_group_members')
        .select('subscriber_group_members.subscriber_id')
        .where('subscriber_group_members.group_id', '=', membership.groupId),
    );
  }
  if (membership.ast.clauses.length === 0) return base;
  return base.where((eb) =>
    searchExpression(eb as AnyExpressionBuilder, membership.ast, shape.columns, {
      dialect: shape.dialect,
      customField: shape.customField,
      lowerCasedFields: shape.lowerCasedFields,
    }),
  );
}

export async function countSubscribers(
  db: Db,
  accountId: string,
  membership: Membership,
  shape: SubscriberQueryShape,
): Promise<number> {
  const row = await subscribersOf(db, accountId, membership, shape)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One page of the group's subscribers, narrowed further by `search`. */
export async function listSubscribers(
  db: Db,
  accountId: string,
  membership: Membership,
  search: SearchAst,
  sorting: SortKey[],
  paging: Paging,
  shape: SubscriberQueryShape,
): Promise<{ total: number; rows: SubscriberRow[] }> {
  const base = applySearch(subscribersOf(db, accountId, membership, shape), search, shape.columns, {
    dialect: shape.dialect,
    customField: shape.customField,
    lowerCasedFields: shape.lowerCasedFields,
  });
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    applyPaging(applySorting(base.selectAll('subscribers'), sorting, shape.columns), paging).execute(),
  ]);
  return { total: Number(count.n), rows: rows };
}

export interface SubscriberExtras {
  /** subscriber id → (field id → stored value) */
  fieldValues: Map<number, Map<number, string | null>>;
  /** subscriber id → channel ids in id order */
  channels: Map<number, number[]>;
}

/** Custom field values and channel subscriptions of a page of subscribers, in two queries. */
export async function subscriberExtras(db: Db, accountId: string, subscriberIds: number[]): Promise<SubscriberExtras> {
  const extras: SubscriberExtras = { fieldValues: new Map(), channels: new Map() };
  for (const ids of chunks(subscriberIds)) {
    const [values, channels] = await Promise.all([
      db
        .selectFrom('subscriber_field_values')
        .select(['subscriber_id as subscriberId', 'field_id as fieldId', 'value'])
        .where('account_id', '=', accountId)
        .where('subscriber_id', 'in', ids)
        .execute(),
      db
        .selectFrom('subscriber_channels')
        .select(['subscriber_id as subscriberId', 'channel_id as channelId'])
        .where('account_id', '=', accountId)
        .where('subscriber_id', 'in', ids)
        .orderBy('channel_id')
        .execute(),
    ]);
    for (const v of values) {
      const values = extras.fieldValues.get(Number(v.subscriberId)) ?? new Map<number, string | null>();
      values.set(Number(v.fieldId), v.value);
      extras.fieldValues.set(Number(v.subscriberId), values);
    }
    for (const c of channels) {
      const list = extras.channels.get(Number(c.subscriberId)) ?? [];
      list.push(Number(c.channelId));
      extras.channels.set(Number(c.subscriberId), list);
    }
  }
  return extras;
}

/** Which of these ids are live subscribers of the account. */
export async function existingSubscriberIds(db: Db, accountId: string, ids: number[]): Promise<Set<number>> {
  const found = new Set<number>();
  for (const part of chunks(ids)) {
    const rows = await db
      .selectFrom('subscribers')
      .select('id')
      .where('account_id', '=', accountId)
      .where('deleted_at', 'is', null)
      .where('id', 'in', part)
      .execute();
    for (const r of rows) found.add(Number(r.id));
  }
  return found;
}

/** Lower-cased email → id for the account's live subscribers among `emails` (already lower-cased). */
export async function subscriberIdsByEmail(db: Db, accountId: string, emails: string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const part of chunks(emails)) {
    const rows = await db
      .selectFrom('subscribers')
      .select(['id', 'email'])
      .where('account_id', '=', accountId)
      .where('deleted_at', 'is', null)
      .where('email', 'in', part)
      .execute();
    for (const r of rows) if (r.email !== null) found.set(r.email, Number(r.id));
  }
  return found;
}

/** Adds member rows (existing ones are kept); how many were new. */
export async function addMemberRows(
  db: Db,
  accountId: string,
  groupId: number,
  subscriberIds: number[],
  now: number,
): Promise<number> {
  let added = 0;
  for (const part of chunks(subscriberIds)) {
    const r = await db
      .insertInto('subscriber_group_members')
      .values(
        part.map((subscriberId) => ({
          group_id: groupId,
          subscriber_id: subscriberId,
          account_id: accountId,
          created_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['group_id', 'subscriber_id']).doNothing())
      .executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

/** Removes member rows; how many there were. */
export async function removeMemberRows(db: Db, groupId: number, subscriberIds: number[]): Promise<number> {
  let removed = 0;
  for (const part of chunks(subscriberIds)) {
    const r = await db
      .deleteFrom('subscriber_group_members')
      .where('group_id', '=', groupId)
      .where('subscriber_id', 'in', part)
      .executeTakeFirst();
    removed += Number(r.numDeletedRows);
  }
  return removed;
}

/** A unique-index violation on either store (two writers racing for the same name). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
