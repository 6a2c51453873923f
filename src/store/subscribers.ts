// Subscriber SQL: lookups, filtered/sorted/paged lists and keyset pages for exports, batched
// upserts (multi-row INSERT … ON CONFLICT in chunks of ≤ 500 rows, inside SQLite's parameter
// limit), custom field values, channel links, group memberships and the erase tombstone.
// Every query is scoped to an account; erased subscribers (deleted_at set) are never returned.
import {
  CompiledQuery,
  PostgresAdapter,
  sql,
  type Expression,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Transaction,
  type Updateable,
} from 'kysely';
import type { Database, SubscribersTable, SubscriberGroupsTable, ChannelsTable } from './schema.ts';
import type { SqlDialect } from './migrations.ts';
import type { Paging, SearchAst, SortKey } from '../domain/query-grammar.ts';
import {
  applyPaging,
  applySearch,
  applySorting,
  type AnyExpressionBuilder,
  type CustomFieldHook,
  type SearchColumns,
} from './query-compiler.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type SubscriberRow = Selectable<SubscribersTable>;
export type NewSubscriberRow = Insertable<SubscribersTable>;
export type SubscriberChanges = Updateable<SubscribersTable>;
export type GroupRow = Selectable<SubscriberGroupsTable>;
export type ChannelRow = Selectable<ChannelsTable>;

const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** PostgreSQL returns bigserial ids as numbers only through our type parser; be explicit anyway. */
const num = (v: unknown) => Number(v);

// ---------------------------------------------------------------------------------------------
// lookups

export async function findSubscriberById(db: Db, accountId: string, id: number): Promise<SubscriberRow | undefined> {
  return db
    .selectFrom('subscribers')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findSubscriberByEmail(
  db: Db,
  accountId: string,
  email: string,
): Promise<SubscriberRow | undefined> {
  return db
    .selectFrom('subscribers')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('email', '=', email)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Existing subscribers by (lower-cased) email; on PostgreSQL the rows are locked until commit. */
export async function findSubscribersByEmails(
  db: Db,
  dialect: SqlDialect,
  accountId: string,
  emails: readonly string[],
): Promise<Map<string, SubscriberRow>> {
  const found = new Map<string, SubscriberRow>();
  for (const part of chunks([...new Set(emails)])) {
    let q = db
      .selectFrom('subscribers')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('email', 'in', part)
      .where('deleted_at', 'is', null);
    if (dialect === 'postgres') q = q.forUpdate();
    for (const row of await q.execute()) found.set(row.email!, row);
  }
  return found;
}

/** Whether the account has any blacklist entry: most have none, and then a bulk request skips matching. */
export async function accountHasBlacklist(db: Db, accountId: string): Promise<boolean> {
  return (
    (await db.selectFrom('blacklist').select('id').where('account_id', '=', accountId).limit(1).executeTakeFirst()) !==
    undefined
  );
}

// ---------------------------------------------------------------------------------------------
// lists

/** A parsed search with the column map and custom-field hook it was whitelisted against. */
export interface SubscriberFilter {
  accountId: string;
  dialect: SqlDialect;
  search: SearchAst;
  columns: SearchColumns;
  customField: CustomFieldHook;
  lowerCasedFields?: ReadonlySet<string>;
}

function filtered(db: Db, filter: SubscriberFilter) {
  const base = db
    .selectFrom('subscribers')
    .where('subscribers.account_id', '=', filter.accountId)
    .where('subscribers.deleted_at', 'is', null);
  return applySearch(base, filter.search, filter.columns, {
    dialect: filter.dialect,
    customField: filter.customField,
    lowerCasedFields: filter.lowerCasedFields,
  });
}

export async function countSubscribers(db: Db, filter: SubscriberFilter): Promise<number> {
  const row = await filtered(db, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return num(row.n);
}

export async function listSubscribers(
  db: Db,
  filter: SubscriberFilter,
  sorting: readonly SortKey[],
  paging: Paging,
): Promise<SubscriberRow[]> {
  return applyPaging(
    applySorting(filtered(db, filter).selectAll('subscribers'), sorting, filter.columns),
    paging,
  ).execute();
}

/**
 * The next `limit` rows after `after` in `sorting` order (keyset pagination): each page costs the
 * same however deep the export is, and rows written meanwhile neither repeat nor shift the pages.
 * `sorting` must end in a unique key (the grammar appends `id asc`).
 */
export async function listSubscribersAfter(
  db: Db,
  filter: SubscriberFilter,
  sorting: readonly SortKey[],
  after: SubscriberRow | null,
  limit: number,
): Promise<SubscriberRow[]> {
  let q = applySorting(filtered(db, filter).selectAll('subscribers'), sorting, filter.columns);
  if (after)
    q = q.where((eb) => keysetAfter(eb, sorting, filter.columns, after as unknown as Record<string, unknown>, 0));
  return q.limit(limit).execute();
}

/**
 * "Comes after this row" for the sort keys from index i on, matching applySorting's order:
 * ascending puts NULLs first, descending puts them last.
 *   after_i = beyond_i OR (equal_i AND after_{i+1}); the last key has no tie.
 */
function keysetAfter(
  eb: AnyExpressionBuilder,
  sorting: readonly SortKey[],
  columns: SearchColumns,
  row: Record<string, unknown>,
  i: number,
): Expression<SqlBool> {
  const key = sorting[i];
  const ref = columns[key.field];
  if (typeof ref !== 'string') throw new Error(`keyset pagination needs a plain column for ${key.field}`);
  const col = sql.ref(ref);
  const value = row[ref.slice(ref.indexOf('.') + 1)] as string | number | null;
  let beyond: Expression<SqlBool>;
  let equal: Expression<SqlBool>;
  if (value === null || value === undefined) {
    equal = sql<SqlBool>`${col} is null`;
    beyond = key.direction === 'asc' ? sql<SqlBool>`${col} is not null` : sql<SqlBool>`1 = 0`;
  } else {
    equal = sql<SqlBool>`${col} = ${value}`;
    beyond =
      key.direction === 'asc' ? sql<SqlBool>`${col} > ${value}` : sql<SqlBool>`(${col} < ${value} or ${col} is null)`;
  }
  if (i === sorting.length - 1) return beyond;
  return eb.or([beyond, eb.and([equal, keysetAfter(eb, sorting, columns, row, i + 1)])]);
}

// ---------------------------------------------------------------------------------------------
// writes

export async function insertSubscriber(db: Db, row: NewSubscriberRow): Promise<number> {
  const r = await db.insertInto('subscribers').values(row).returning('id').executeTakeFirstOrThrow();
  return num(r.id);
}

export async function updateSubscriber(
  db: Db,
  accountId: string,
  id: number,
  changes: SubscriberChanges,
): Promise<void> {
  await db
    .updateTable('subscribers')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .execute();
}

// Every column a new row is written with, and the ones an upsert overwrites on an existing row
// (the caller sends the merged, complete row). Names here are constants, never request text.
export const INSERT_COLUMNS = [
  'account_id',
  'email',
  'status',
  'status_addition',
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
  'opt_in_comment',
  'opt_in_sent_at',
  'opt_in_confirmed_at',
  'opt_in_ip',
  'reference',
  'last_opened_at',
  'last_clicked_at',
  'deleted_at',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof NewSubscriberRow>;
const UPSERT_COLUMNS = INSERT_COLUMNS.filter(
  (c) =>
    c !== 'account_id' &&
    c !== 'email' &&
    c !== 'created_at' &&
    c !== 'deleted_at' &&
    c !== 'last_opened_at' &&
    c !== 'last_clicked_at',
);

/** Which placeholders the connection's dialect wants ($1 on PostgreSQL, ? on SQLite). */
function dialectOf(db: Db): SqlDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * A multi-row INSERT as SQL text with bound parameters. Kysely's builder allocates several
 * objects per value; for 500-row statements that cost (and its garbage) outweighed SQLite's own
 * work, so the bulk paths build the statement here. Table and column names are constants.
 */
function multiRowInsert(
  dialect: SqlDialect,
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
  tail: string,
): CompiledQuery {
  const params: unknown[] = [];
  let tuples: string;
  if (dialect === 'postgres') {
    let n = 0;
    tuples = rows.map((r) => '(' + r.map((v) => (params.push(v), `$${++n}`)).join(', ') + ')').join(', ');
  } else {
    const tuple = '(' + columns.map(() => '?').join(', ') + ')';
    for (const r of rows) for (const v of r) params.push(v);
    tuples = rows.map(() => tuple).join(', ');
  }
  return CompiledQuery.raw(
    `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples} ${tail}`,
    params,
  );
}

// The conflict target names the partial unique index of live subscribers (migration 0006).
export const UPSERT_TAIL =
  `on conflict ("account_id", "email") where "deleted_at" is null do update set ` +
  `${UPSERT_COLUMNS.map((c) => `"${c}" = excluded."${c}"`).join(', ')} returning "id", "email"`;

// PostgreSQL types of INSERT_COLUMNS, for the arrays of unnestUpsert.
const PG_TYPES: Record<(typeof INSERT_COLUMNS)[number], string> = {
  account_id: 'text',
  email: 'text',
  status: 'integer',
  status_addition: 'integer',
  gender_id: 'integer',
  language_iso: 'text',
  title: 'text',
  firstname: 'text',
  lastname: 'text',
  company: 'text',
  street: 'text',
  postcode: 'text',
  city: 'text',
  phone_number: 'text',
  birthday: 'text',
  opt_in_comment: 'text',
  opt_in_sent_at: 'bigint',
  opt_in_confirmed_at: 'bigint',
  opt_in_ip: 'text',
  reference: 'text',
  last_opened_at: 'bigint',
  last_clicked_at: 'bigint',
  deleted_at: 'bigint',
  created_at: 'bigint',
  updated_at: 'bigint',
};
const UNNEST_UPSERT_SQL =
  `insert into subscribers (${INSERT_COLUMNS.map((c) => `"${c}"`).join(', ')}) ` +
  `select * from unnest(${INSERT_COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')}) ${UPSERT_TAIL}`;

/**
 * PostgreSQL: the whole batch as one statement with one array parameter per column (unnest), not
 * 25 parameters per row. The text is the same for every batch, and the server parses and plans 25
 * parameters instead of 25,000 (a 1,000-row multi-row VALUES spent most of its time there).
 */
function unnestUpsert(rows: readonly NewSubscriberRow[]): CompiledQuery {
  return CompiledQuery.raw(
    UNNEST_UPSERT_SQL,
    INSERT_COLUMNS.map((c) => rows.map((row) => row[c] ?? null)),
  );
}

/**
 * SQLite: one multi-row INSERT … ON CONFLICT (account_id, email) DO UPDATE per 500 rows
 * (PostgreSQL: one unnest statement). Rows must be
 * complete (existing values merged in) and have distinct emails. Returns email → id.
 */
export async function upsertSubscribers(db: Db, rows: readonly NewSubscriberRow[]): Promise<Map<string, number>> {
  const dialect = dialectOf(db);
  const ids = new Map<string, number>();
  if (dialect === 'postgres') {
    if (rows.length === 0) return ids;
    const result = await db.executeQuery<{ id: number; email: string }>(unnestUpsert(rows));
    for (const r of result.rows) ids.set(r.email, num(r.id));
    return ids;
  }
  for (const part of chunks(rows)) {
    const values = part.map((row) => INSERT_COLUMNS.map((c) => row[c] ?? null));
    const result = await db.executeQuery<{ id: number; email: string }>(
      multiRowInsert(dialect, 'subscribers', INSERT_COLUMNS, values, UPSERT_TAIL),
    );
    for (const r of result.rows) ids.set(r.email, num(r.id));
  }
  return ids;
}

/** Erases personal data and keeps an anonymous row (status, dates) so statistics stay right. */
export async function tombstoneSubscriber(db: Db, accountId: string, id: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('subscribers')
    .set({
      email: null,
      gender_id: null,
      title: null,
      firstname: null,
      lastname: null,
      company: null,
      street: null,
      postcode: null,
      city: null,
      phone_number: null,
      birthday: null,
      opt_in_comment: null,
      opt_in_ip: null,
      reference: null,
      deleted_at: now,
      updated_at: now,
    })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await db
    .deleteFrom('subscriber_field_values')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', id)
    .execute();
  await db
    .deleteFrom('subscriber_channels')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', id)
    .execute();
  await db
    .deleteFrom('subscriber_group_members')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', id)
    .execute();
  return true;
}

// ---------------------------------------------------------------------------------------------
// custom field values

export interface FieldValueRow {
  subscriber_id: number;
  field_id: number;
  value: string | null;
  value_num: number | null;
}

/** The account's subscriber custom fields (field_type 1), in id order. */
export async function subscriberFields(
  db: Db,
  accountId: string,
): Promise<Array<{ id: number; type: number; exportable: boolean }>> {
  const rows = await db
    .selectFrom('customer_fields')
    .select(['id', 'type', 'is_available_for_export'])
    .where('account_id', '=', accountId)
    .where('field_type', '=', 1)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: num(r.id), type: r.type, exportable: r.is_available_for_export === 1 }));
}

export async function loadFieldValues(
  db: Db,
  accountId: string,
  subscriberIds: readonly number[],
): Promise<Map<number, FieldValueRow[]>> {
  const out = new Map<number, FieldValueRow[]>();
  for (const part of chunks(subscriberIds, 1000)) {
    const rows = await db
      .selectFrom('subscriber_field_values')
      .select(['subscriber_id', 'field_id', 'value', 'value_num'])
      .where('account_id', '=', accountId)
      .where('subscriber_id', 'in', part)
      .execute();
    for (const r of rows) {
      const row = {
        subscriber_id: num(r.subscriber_id),
        field_id: num(r.field_id),
        value: r.value,
        value_num: r.value_num,
      };
      const list = out.get(row.subscriber_id);
      if (list) list.push(row);
      else out.set(row.subscriber_id, [row]);
    }
  }
  return out;
}

/** Sets values (multi-row upsert) and removes the ones set to null (one DELETE per field). */
export async function writeFieldValues(db: Db, accountId: string, values: readonly FieldValueRow[]): Promise<void> {
  const dialect = dialectOf(db);
  const set = values.filter((v) => v.value !== null);
  for (const part of chunks(set)) {
    const rows = part.map((v) => [v.subscriber_id, v.field_id, accountId, v.value, v.value_num]);
    await db.executeQuery(
      multiRowInsert(
        dialect,
        'subscriber_field_values',
        ['subscriber_id', 'field_id', 'account_id', 'value', 'value_num'],
        rows,
        'on conflict ("subscriber_id", "field_id") do update set "value" = excluded."value", "value_num" = ' +
          'excluded."value_num"',
      ),
    );
  }
  const cleared = new Map<number, number[]>();
  for (const v of values)
    if (v.value === null)
      (cleared.get(v.field_id) ?? cleared.set(v.field_id, []).get(v.field_id)!).push(v.subscriber_id);
  for (const [fieldId, subscriberIds] of cleared) {
    for (const part of chunks(subscriberIds)) {
      await db
        .deleteFrom('subscriber_field_values')
        .where('account_id', '=', accountId)
        .where('field_id', '=', fieldId)
        .where('subscriber_id', 'in', part)
        .execute();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// channels

export async function accountChannelIds(db: Db, accountId: string): Promise<Set<number>> {
  const rows = await db.selectFrom('channels').select('id').where('account_id', '=', accountId).execute();
  return new Set(rows.map((r) => num(r.id)));
}

export async function loadChannels(db: Db, accountId: string, ids: readonly number[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('channels')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', 'in', [...ids])
    .orderBy('id')
    .execute();
}

/** Channel ids per subscriber, ascending. */
export async function loadChannelLinks(
  db: Db,
  accountId: string,
  subscriberIds: readonly number[],
): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  for (const part of chunks(subscriberIds, 1000)) {
    const rows = await db
      .selectFrom('subscriber_channels')
      .select(['subscriber_id', 'channel_id'])
      .where('account_id', '=', accountId)
      .where('subscriber_id', 'in', part)
      .orderBy('subscriber_id')
      .orderBy('channel_id')
      .execute();
    for (const r of rows) {
      const sid = num(r.subscriber_id);
      (out.get(sid) ?? out.set(sid, []).get(sid)!).push(num(r.channel_id));
    }
  }
  return out;
}

export interface ChannelSet {
  subscriberId: number;
  channelIds: readonly number[];
}

/**
 * Links every subscriber to exactly its channel set: one multi-row insert for all links (existing
 * ones kept, with their date) and one DELETE of the other links per distinct set.
 */
export async function replaceChannelLinks(
  db: Db,
  accountId: string,
  sets: readonly ChannelSet[],
  now: number,
): Promise<void> {
  await addChannelLinks(db, accountId, sets, now);
  const bySet = new Map<string, { channelIds: readonly number[]; subscriberIds: number[] }>();
  for (const s of sets) {
    const key = [...s.channelIds].sort((a, b) => a - b).join(',');
    (bySet.get(key) ?? bySet.set(key, { channelIds: s.channelIds, subscriberIds: [] }).get(key)!).subscriberIds.push(
      s.subscriberId,
    );
  }
  for (const { channelIds, subscriberIds } of bySet.values()) {
    for (const part of chunks(subscriberIds)) {
      let q = db
        .deleteFrom('subscriber_channels')
        .where('account_id', '=', accountId)
        .where('subscriber_id', 'in', part);
      if (channelIds.length) q = q.where('channel_id', 'not in', [...channelIds]);
      await q.execute();
    }
  }
}

export async function addChannelLinks(
  db: Db,
  accountId: string,
  sets: readonly ChannelSet[],
  now: number,
): Promise<void> {
  const dialect = dialectOf(db);
  const links = sets.flatMap((s) => s.channelIds.map((channelId) => [s.subscriberId, channelId, accountId, now]));
  for (const part of chunks(links)) {
    await db.executeQuery(
      multiRowInsert(
        dialect,
        'subscriber_channels',
        ['subscriber_id', 'channel_id', 'account_id', 'created_at'],
        part,
        'on conflict ("subscriber_id", "channel_id") do nothing',
      ),
    );
  }
}

/** Removes the given links (all of them when channelIds is null); returns how many remain. */
export async function removeChannelLinks(
  db: Db,
  accountId: string,
  subscriberId: number,
  channelIds: readonly number[] | null,
): Promise<number> {
  let q = db
    .deleteFrom('subscriber_channels')
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', subscriberId);
  if (channelIds) q = q.where('channel_id', 'in', [...channelIds]);
  await q.execute();
  const row = await db
    .selectFrom('subscriber_channels')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', '=', accountId)
    .where('subscriber_id', '=', subscriberId)
    .executeTakeFirstOrThrow();
  return num(row.n);
}

// ---------------------------------------------------------------------------------------------
// group memberships (read-only here; the group endpoints own the writes)

export async function groupsOfSubscribers(
  db: Db,
  accountId: string,
  subscriberIds: readonly number[],
): Promise<Array<{ subscriberId: number; group: GroupRow }>> {
  const out: Array<{ subscriberId: number; group: GroupRow }> = [];
  for (const part of chunks(subscriberIds, 1000)) {
    const rows = await db
      .selectFrom('subscriber_group_members as m')
      .innerJoin('subscriber_groups as g', 'g.id', 'm.group_id')
      .selectAll('g')
      .select('m.subscriber_id as member_subscriber_id')
      .where('m.account_id', '=', accountId)
      .where('g.account_id', '=', accountId)
      .where('m.subscriber_id', 'in', part)
      .orderBy('g.id')
      .execute();
    for (const { member_subscriber_id, ...group } of rows)
      out.push({ subscriberId: num(member_subscriber_id), group: { ...group, id: num(group.id) } });
  }
  return out;
}

export async function countGroupsOfSubscriber(db: Db, accountId: string, subscriberId: number): Promise<number> {
  const row = await db
    .selectFrom('subscriber_group_members as m')
    .innerJoin('subscriber_groups as g', 'g.id', 'm.group_id')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('m.account_id', '=', accountId)
    .where('g.account_id', '=', accountId)
    .where('m.subscriber_id', '=', subscriberId)
    .executeTakeFirstOrThrow();
  return num(row.n);
}

export async function listGroupsOfSubscriber(
  db: Db,
  accountId: string,
  subscriberId: number,
  paging: Paging,
): Promise<GroupRow[]> {
  const rows = await db
    .selectFrom('subscriber_group_members as m')
    .innerJoin('subscriber_groups as g', 'g.id', 'm.group_id')
    .selectAll('g')
    .where('m.account_id', '=', accountId)
    .where('g.account_id', '=', accountId)
    .where('m.subscriber_id', '=', subscriberId)
    .orderBy('g.id')
    .limit(paging.limit)
    .offset(paging.offset)
    .execute();
  return rows.map((g) => ({ ...g, id: num(g.id) }));
}

/** Members per group, erased subscribers not counted. */
export async function groupMemberCounts(
  db: Db,
  accountId: string,
  groupIds: readonly number[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (groupIds.length === 0) return out;
  const rows = await db
    .selectFrom('subscriber_group_members as m')
    .innerJoin('subscribers as s', 's.id', 'm.subscriber_id')
    .select(['m.group_id', (eb) => eb.fn.countAll().as('n')])
    .where('m.account_id', '=', accountId)
    .where('m.group_id', 'in', [...new Set(groupIds)])
    .where('s.deleted_at', 'is', null)
    .groupBy('m.group_id')
    .execute();
  for (const r of rows) out.set(num(r.group_id), num(r.n));
  return out;
}

/** True for a unique-constraint violation on either store. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
