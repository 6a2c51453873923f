// Subscriber use cases: list/read, create, change, erase, the web-form signup (register), bulk
// upsert, unsubscribe, group memberships and the streamed export. Services own the transactions;
// the opt-in mail is sent after the subscriber's transaction has committed.
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { grammar, grammarAsync, parsePagingParams } from './marketing-params.ts';
import { countSubscribersRemembered } from './subscriber-counts.ts';
import {
  SUBSCRIBER_COLUMNS,
  SUBSCRIBER_LOWER_CASED_FIELDS,
  parseSubscriberSearch,
  parseSubscriberSorting,
  subscriberCustomField,
} from './subscriber-search.ts';
import { sendGoodbyeMail, sendOptInMail } from './opt-in.ts';
import { subscribedChannelIds } from '../store/opt-in.ts';
import { permissionName } from '../domain/permissions.ts';
import { parseInclude, type Paging, type SortKey } from '../domain/query-grammar.ts';
import { presentFieldValue } from '../domain/customer-field-values.ts';
import { ADDITION, STATUS, permissionForStatusChange } from '../domain/subscriber-status.ts';
import {
  parseSubscriberInput,
  resolveStatus,
  type AccountVocabulary,
  type CustomValue,
  type FieldErrors,
  type InputMode,
  type StatusPair,
  type SubscriberInput,
} from '../domain/subscriber-input.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { deleteSuppressionsByEmail } from '../store/suppressions.ts';
import { recordSubscriberEvents, subscriberUpdateEvents } from '../events/subscriber-events.ts';
import * as store from '../store/subscribers.ts';
import type {
  ChannelRow,
  FieldValueRow,
  GroupRow,
  NewSubscriberRow,
  SubscriberChanges,
  SubscriberFilter,
  SubscriberRow,
} from '../store/subscribers.ts';

/** The caller: the key's account and its permissions (the advanced toggles gate status changes). */
export interface Caller {
  accountId: string;
  permissions: readonly string[];
}

export const SUBSCRIBER_INCLUDES = ['subscriberGroups', 'channels'] as const;
export type SubscriberInclude = (typeof SUBSCRIBER_INCLUDES)[number];

export const MAX_BULK_ITEMS = 1000;
export const EXPORT_PAGE_SIZE = 1000;

export interface GroupRecord {
  row: GroupRow;
  subscriberCount: number;
}

/** A subscriber with what its API object shows besides its own columns. */
export interface SubscriberRecord {
  row: SubscriberRow;
  customerFields: Record<string, unknown>;
  channels: number[];
  /** Only with include=subscriberGroups. */
  groups?: GroupRecord[];
  /** Only with include=channels. */
  channelRows?: ChannelRow[];
}

/** All field errors of one write (the seed lists every invalid field); the surface sees the first. */
export class SubscriberValidationError extends ServiceError {
  constructor(readonly fieldErrors: FieldErrors) {
    const [field, messages] = Object.entries(fieldErrors)[0];
    super('invalid', messages[0], field);
  }
}

const BLACKLISTED = 'The email is blacklisted.';
const conflict = () => new ServiceError('conflict', 'The resource is already existing.');
const subscriberNotFound = () => notFound('Subscriber');

// ---------------------------------------------------------------------------------------------
// reading

interface Vocabulary extends AccountVocabulary {
  fields: Array<{ id: number; type: number; exportable: boolean }>;
}

async function loadVocabulary(ctx: Context, accountId: string): Promise<Vocabulary> {
  const [fields, channelIds] = await Promise.all([
    store.subscriberFields(ctx.db, accountId),
    store.accountChannelIds(ctx.db, accountId),
  ]);
  return { fields, fieldTypes: new Map(fields.map((f) => [f.id, f.type])), channelIds };
}

async function enrich(
  ctx: Context,
  accountId: string,
  rows: SubscriberRow[],
  fields: Vocabulary['fields'],
  includes: readonly SubscriberInclude[] = [],
): Promise<SubscriberRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.id));
  const [values, links] = await Promise.all([
    store.loadFieldValues(ctx.db, accountId, ids),
    store.loadChannelLinks(ctx.db, accountId, ids),
  ]);
  const records: SubscriberRecord[] = rows.map((row) => {
    const id = Number(row.id);
    const own = new Map((values.get(id) ?? []).map((v) => [v.field_id, v.value]));
    // Every subscriber field of the account is listed, null when this subscriber has no value.
    const customerFields: Record<string, unknown> = {};
    for (const f of fields) customerFields[String(f.id)] = presentFieldValue(f.type, own.get(f.id) ?? null);
    return { row: { ...row, id }, customerFields, channels: links.get(id) ?? [] };
  });
  if (includes.includes('subscriberGroups')) {
    const memberships = await store.groupsOfSubscribers(ctx.db, accountId, ids);
    const counts = await store.groupMemberCounts(
      ctx.db,
      accountId,
      memberships.map((m) => m.group.id),
    );
    const bySubscriber = new Map<number, GroupRecord[]>();
    for (const m of memberships) {
      const list = bySubscriber.get(m.subscriberId) ?? bySubscriber.set(m.subscriberId, []).get(m.subscriberId)!;
      list.push({ row: m.group, subscriberCount: counts.get(m.group.id) ?? 0 });
    }
    for (const r of records) r.groups = bySubscriber.get(r.row.id) ?? [];
  }
  if (includes.includes('channels')) {
    const channelRows = await store.loadChannels(ctx.db, accountId, [...new Set(records.flatMap((r) => r.channels))]);
    const byId = new Map(channelRows.map((c) => [Number(c.id), c]));
    for (const r of records) r.channelRows = r.channels.map((id) => byId.get(id)!).filter(Boolean);
  }
  return records;
}

export interface ListQuery {
  search?: string;
  sorting?: string;
  page?: string;
  limit?: string;
  include?: string;
}

export function parseIncludes(raw: string | undefined): SubscriberInclude[] {
  return grammar(() => parseInclude(raw, SUBSCRIBER_INCLUDES));
}

async function subscriberFilter(
  ctx: Context,
  accountId: string,
  search: string | undefined,
): Promise<SubscriberFilter> {
  const ast = await grammarAsync(() => parseSubscriberSearch(ctx, accountId, search));
  return {
    accountId,
    dialect: ctx.dialect,
    search: ast,
    columns: SUBSCRIBER_COLUMNS,
    customField: subscriberCustomField,
    lowerCasedFields: SUBSCRIBER_LOWER_CASED_FIELDS,
  };
}

export async function listSubscribers(
  ctx: Context,
  accountId: string,
  query: ListQuery,
): Promise<{ total: number; rows: SubscriberRecord[]; paging: Paging }> {
  const includes = parseIncludes(query.include);
  const filter = await subscriberFilter(ctx, accountId, query.search);
  const sorting = grammar(() => parseSubscriberSorting(query.sorting));
  const paging = parsePagingParams(query);
  const [total, rows, vocabulary] = await Promise.all([
    countSubscribersRemembered(ctx, filter),
    store.listSubscribers(ctx.db, filter, sorting, paging),
    loadVocabulary(ctx, accountId),
  ]);
  return { total, rows: await enrich(ctx, accountId, rows, vocabulary.fields, includes), paging };
}

export async function getSubscriber(
  ctx: Context,
  accountId: string,
  id: number,
  includes: readonly SubscriberInclude[] = [],
): Promise<SubscriberRecord> {
  const row = await store.findSubscriberById(ctx.db, accountId, id);
  if (!row) throw subscriberNotFound();
  const vocabulary = await loadVocabulary(ctx, accountId);
  return (await enrich(ctx, accountId, [row], vocabulary.fields, includes))[0];
}

/** The static and external groups the subscriber is a member of (dynamic groups have no members). */
export async function listSubscriberGroups(
  ctx: Context,
  accountId: string,
  id: number,
  query: { page?: string; limit?: string },
): Promise<{ total: number; rows: GroupRecord[]; paging: Paging }> {
  const paging = parsePagingParams(query);
  if (!(await store.findSubscriberById(ctx.db, accountId, id))) throw subscriberNotFound();
  const [total, groups] = await Promise.all([
    store.countGroupsOfSubscriber(ctx.db, accountId, id),
    store.listGroupsOfSubscriber(ctx.db, accountId, id, paging),
  ]);
  const counts = await store.groupMemberCounts(
    ctx.db,
    accountId,
    groups.map((g) => g.id),
  );
  return { total, rows: groups.map((row) => ({ row, subscriberCount: counts.get(row.id) ?? 0 })), paging };
}

// ---------------------------------------------------------------------------------------------
// writing: shared pieces

function parseOrThrow(body: unknown, mode: InputMode, vocabulary: AccountVocabulary): SubscriberInput {
  const parsed = parseSubscriberInput(body, mode, vocabulary);
  if (!parsed.ok) throw new SubscriberValidationError(parsed.errors);
  return parsed.input;
}

function statusOrThrow(current: StatusPair | null, input: SubscriberInput): StatusPair {
  const resolved = resolveStatus(current, input);
  if (!resolved.ok) throw new SubscriberValidationError({ [resolved.field]: [resolved.message] });
  return resolved.pair;
}

/** null when the key may make this status change, else the reason it may not. */
function statusChangeRefusal(caller: Caller, from: StatusPair, to: StatusPair): string | null {
  const needed = permissionForStatusChange(from, to);
  if (!needed || caller.permissions.includes(needed)) return null;
  return `This status change needs the API key's advanced permission "${permissionName(needed)}".`;
}

function checkStatusChange(caller: Caller, from: StatusPair, to: StatusPair): void {
  const refusal = statusChangeRefusal(caller, from, to);
  if (refusal) throw new ServiceError('forbidden', refusal);
}

const pairOf = (row: { status: number; status_addition?: number | null }): StatusPair => ({
  status: row.status,
  addition: row.status_addition ?? null,
});
/**
 * Leaving "archived" by the marketing rules (the key's reactivate permission) is the explicit
 * decision the suppression list waits for: the address comes off it. The other way round, taking
 * an address off the list never reactivates anyone.
 */
const leavesArchive = (from: StatusPair | null, to: StatusPair) =>
  from?.status === STATUS.ARCHIVED && to.status !== STATUS.ARCHIVED;

// A new subscriber is treated as coming from "ready", so creating it archived needs "archive".
const NEW_SUBSCRIBER: StatusPair = { status: STATUS.READY, addition: null };

/**
 * Writes the fields the input sent onto a row. Named properties on purpose: this runs for every
 * bulk item, and keyed writes with computed names were a measurable share of a bulk request.
 */
function applyInput<T extends SubscriberChanges>(row: T, input: SubscriberInput): T {
  if (input.email !== undefined) row.email = input.email;
  if (input.genderId !== undefined) row.gender_id = input.genderId;
  if (input.languageIso !== undefined) row.language_iso = input.languageIso;
  if (input.birthday !== undefined) row.birthday = input.birthday;
  if (input.optInIp !== undefined) row.opt_in_ip = input.optInIp;
  if (input.optInConfirmedAt !== undefined) row.opt_in_confirmed_at = input.optInConfirmedAt;
  const t = input.text;
  if (t.title !== undefined) row.title = t.title;
  if (t.firstname !== undefined) row.firstname = t.firstname;
  if (t.lastname !== undefined) row.lastname = t.lastname;
  if (t.company !== undefined) row.company = t.company;
  if (t.street !== undefined) row.street = t.street;
  if (t.postcode !== undefined) row.postcode = t.postcode;
  if (t.city !== undefined) row.city = t.city;
  if (t.phoneNumber !== undefined) row.phone_number = t.phoneNumber;
  if (t.optInComment !== undefined) row.opt_in_comment = t.optInComment;
  if (t.reference !== undefined) row.reference = t.reference;
  return row;
}

/** The columns the input sets (only the fields it sent), for an UPDATE. */
const columnChanges = (input: SubscriberInput): SubscriberChanges => applyInput({}, input);

/** A fresh row with every column named (so rows of one multi-row INSERT line up). */
function completeRow(base: Omit<NewSubscriberRow, 'id'>): NewSubscriberRow {
  return {
    account_id: base.account_id,
    email: base.email ?? null,
    status: base.status,
    status_addition: base.status_addition ?? null,
    gender_id: base.gender_id ?? null,
    language_iso: base.language_iso ?? null,
    title: base.title ?? null,
    firstname: base.firstname ?? null,
    lastname: base.lastname ?? null,
    company: base.company ?? null,
    street: base.street ?? null,
    postcode: base.postcode ?? null,
    city: base.city ?? null,
    phone_number: base.phone_number ?? null,
    birthday: base.birthday ?? null,
    opt_in_comment: base.opt_in_comment ?? null,
    opt_in_sent_at: base.opt_in_sent_at ?? null,
    opt_in_confirmed_at: base.opt_in_confirmed_at ?? null,
    opt_in_ip: base.opt_in_ip ?? null,
    reference: base.reference ?? null,
    last_opened_at: base.last_opened_at ?? null,
    last_clicked_at: base.last_clicked_at ?? null,
    deleted_at: null,
    created_at: base.created_at,
    updated_at: base.updated_at,
  };
}

/** A new subscriber's row from the input, with the given status. */
function newRow(accountId: string, input: SubscriberInput, pair: StatusPair, now: number): NewSubscriberRow {
  const row = applyInput(completeRow(newRowBase(accountId, input.email!, now)), input);
  row.status = pair.status;
  row.status_addition = pair.addition;
  return row;
}

function newRowBase(accountId: string, email: string, now: number): Omit<NewSubscriberRow, 'id'> {
  return {
    account_id: accountId,
    email,
    status: STATUS.READY,
    status_addition: null,
    created_at: now,
    updated_at: now,
  };
}

function fieldValueRows(subscriberId: number, values: Map<number, CustomValue> | undefined): FieldValueRow[] {
  if (!values) return [];
  return [...values].map(([field_id, v]) => ({
    subscriber_id: subscriberId,
    field_id,
    value: v.value,
    value_num: v.valueNum,
  }));
}

async function assertNotBlacklisted(db: Context['db'], accountId: string, email: string): Promise<void> {
  if ((await findBlacklisted(db, accountId, [email])).size > 0)
    throw new SubscriberValidationError({ email: [BLACKLISTED] });
}

async function withUniqueEmail<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Two requests creating the same email at once: the index decides, the loser gets a 409.
    if (store.isUniqueViolation(error)) throw conflict();
    throw error;
  }
}

/** Sends the opt-in mail; a failure is logged, not returned: the subscriber is already stored. */
async function trySendOptIn(
  ctx: Context,
  accountId: string,
  subscriberId: number,
  channelId: number | null,
): Promise<void> {
  try {
    await sendOptInMail(ctx, accountId, subscriberId, channelId);
  } catch (error) {
    ctx.log.error({ err: error, accountId, subscriberId }, 'could not send the opt-in mail');
  }
}

// ---------------------------------------------------------------------------------------------
// create, change, erase

export async function createSubscriber(ctx: Context, caller: Caller, body: unknown): Promise<SubscriberRecord> {
  const { accountId } = caller;
  const vocabulary = await loadVocabulary(ctx, accountId);
  const input = parseOrThrow(body, 'create', vocabulary);
  const pair = statusOrThrow(null, input);
  checkStatusChange(caller, NEW_SUBSCRIBER, pair);
  const now = ctx.clock();
  const id = await withUniqueEmail(() =>
    ctx.db.transaction().execute(async (trx) => {
      await assertNotBlacklisted(trx, accountId, input.email!);
      if (await store.findSubscriberByEmail(trx, accountId, input.email!)) throw conflict();
      const id = await store.insertSubscriber(trx, newRow(accountId, input, pair, now));
      await store.writeFieldValues(trx, accountId, fieldValueRows(id, input.customerFields));
      if (input.channels?.length)
        await store.addChannelLinks(trx, accountId, [{ subscriberId: id, channelIds: input.channels }], now);
      await recordSubscriberEvents(
        trx,
        accountId,
        [
          {
            type: 'subscriber.created',
            subscriberId: id,
            email: input.email!,
            status: pair.status,
            statusAddition: pair.addition,
          },
        ],
        now,
      );
      return id;
    }),
  );
  if (input.sendOptIn) await trySendOptIn(ctx, accountId, id, input.channels?.[0] ?? null);
  return getSubscriber(ctx, accountId, id);
}

/**
 * Changes only the fields sent. `channels` replaces the subscriber's channel set; `customerFields`
 * sets the values it names (null clears one). A status change may need an advanced permission.
 * `sendOptIn: true` re-sends the opt-in mail when the subscriber ends up not ready (2/1).
 */
export async function updateSubscriber(
  ctx: Context,
  caller: Caller,
  id: number,
  body: unknown,
): Promise<SubscriberRecord> {
  const { accountId } = caller;
  const vocabulary = await loadVocabulary(ctx, accountId);
  const input = parseOrThrow(body, 'update', vocabulary);
  const now = ctx.clock();
  const pair = await withUniqueEmail(() =>
    ctx.db.transaction().execute(async (trx) => {
      const current = await store.findSubscriberById(trx, accountId, id);
      if (!current) throw subscriberNotFound();
      const pair = statusOrThrow(pairOf(current), { ...input, sendOptIn: undefined });
      checkStatusChange(caller, pairOf(current), pair);
      if (input.email !== undefined && input.email !== current.email) {
        await assertNotBlacklisted(trx, accountId, input.email);
        if (await store.findSubscriberByEmail(trx, accountId, input.email)) throw conflict();
      }
      await store.updateSubscriber(trx, accountId, id, {
        ...columnChanges(input),
        status: pair.status,
        status_addition: pair.addition,
        updated_at: now,
      });
      if (leavesArchive(pairOf(current), pair) && current.email)
        await deleteSuppressionsByEmail(trx, accountId, [current.email]);
      await store.writeFieldValues(trx, accountId, fieldValueRows(id, input.customerFields));
      if (input.channels)
        await store.replaceChannelLinks(trx, accountId, [{ subscriberId: id, channelIds: input.channels }], now);
      await recordSubscriberEvents(
        trx,
        accountId,
        subscriberUpdateEvents(id, input.email ?? current.email, pairOf(current), pair),
        now,
      );
      return pair;
    }),
  );
  if (input.sendOptIn && pair.status === STATUS.NOT_READY)
    await trySendOptIn(ctx, accountId, id, input.channels?.[0] ?? null);
  return getSubscriber(ctx, accountId, id);
}

/** Erases the personal data; the anonymous row stays for statistics and is never shown again. */
export async function deleteSubscriber(ctx: Context, accountId: string, id: number): Promise<void> {
  const erased = await ctx.db
    .transaction()
    .execute((trx) => store.tombstoneSubscriber(trx, accountId, id, ctx.clock()));
  if (!erased) throw subscriberNotFound();
}

// ---------------------------------------------------------------------------------------------
// register (web forms)

/**
 * Signup by email, always double opt-in: a new or not-ready subscriber becomes 2/1 and gets the
 * opt-in mail; a ready one stays ready (its fields are updated, no mail). Leaving "archived" needs
 * the same advanced permission as a PUT would. `channelId` and `channels` are added to the
 * subscriber's channels, never removed; status, statusAddition and sendOptIn are ignored.
 */
export async function registerSubscriber(
  ctx: Context,
  caller: Caller,
  body: Record<string, unknown>,
): Promise<{ record: SubscriberRecord; created: boolean }> {
  const { accountId } = caller;
  const vocabulary = await loadVocabulary(ctx, accountId);
  const { status: _s, statusAddition: _a, sendOptIn: _o, channelId: rawChannelId, ...fields } = body;
  const parsed = parseSubscriberInput(fields, 'create', vocabulary);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  let channelId: number | null = null;
  if (rawChannelId !== undefined && rawChannelId !== null) {
    if (typeof rawChannelId !== 'number' || !vocabulary.channelIds.has(rawChannelId))
      errors.channelId = ['The channelId must be a channel id of this account.'];
    else channelId = rawChannelId;
  }
  if (!parsed.ok || Object.keys(errors).length) throw new SubscriberValidationError(errors);
  const input = parsed.input;
  const channels = [...new Set([...(channelId ? [channelId] : []), ...(input.channels ?? [])])];
  const now = ctx.clock();

  const outcome = await withUniqueEmail(() =>
    ctx.db.transaction().execute(async (trx) => {
      await assertNotBlacklisted(trx, accountId, input.email!);
      const current = await store.findSubscriberByEmail(trx, accountId, input.email!);
      const pending: StatusPair = { status: STATUS.NOT_READY, addition: ADDITION.OPT_IN_PENDING };
      let id: number;
      let pair: StatusPair;
      if (!current) {
        pair = pending;
        id = await store.insertSubscriber(trx, newRow(accountId, input, pair, now));
      } else {
        id = Number(current.id);
        pair = current.status === STATUS.READY ? pairOf(current) : pending;
        checkStatusChange(caller, pairOf(current), pair);
        await store.updateSubscriber(trx, accountId, id, {
          ...columnChanges(input),
          status: pair.status,
          status_addition: pair.addition,
          updated_at: now,
        });
        if (leavesArchive(pairOf(current), pair)) await deleteSuppressionsByEmail(trx, accountId, [input.email!]);
      }
      await store.writeFieldValues(trx, accountId, fieldValueRows(id, input.customerFields));
      if (channels.length)
        await store.addChannelLinks(trx, accountId, [{ subscriberId: id, channelIds: channels }], now);
      await recordSubscriberEvents(
        trx,
        accountId,
        [
          {
            type: current ? 'subscriber.updated' : 'subscriber.created',
            subscriberId: id,
            email: input.email!,
            status: pair.status,
            statusAddition: pair.addition,
          },
        ],
        now,
      );
      return { id, created: !current, needsOptIn: pair.status === STATUS.NOT_READY };
    }),
  );
  if (outcome.needsOptIn) await trySendOptIn(ctx, accountId, outcome.id, channels[0] ?? null);
  return { record: await getSubscriber(ctx, accountId, outcome.id), created: outcome.created };
}

// ---------------------------------------------------------------------------------------------
// unsubscribe

/**
 * From one channel (its link removed; with no channel left the subscriber is archived as
 * unsubscribed, 3/2) or from all (every link removed, 3/2). An already archived subscriber keeps
 * its reason (a complaint or a bounce says more than "unsubscribed").
 */
export async function unsubscribeSubscriber(
  ctx: Context,
  accountId: string,
  id: number,
  channelId: number | undefined,
): Promise<SubscriberRecord> {
  if (channelId !== undefined) {
    const channels = await store.accountChannelIds(ctx.db, accountId);
    if (!channels.has(channelId))
      throw new SubscriberValidationError({ channelId: ['The channelId must be a channel id of this account.'] });
  }
  const now = ctx.clock();
  let left: number[] = [];
  await ctx.db.transaction().execute(async (trx) => {
    const current = await store.findSubscriberById(trx, accountId, id);
    if (!current) throw subscriberNotFound();
    const before = await subscribedChannelIds(trx, accountId, id);
    left = channelId === undefined ? before : before.filter((c) => c === channelId);
    const remaining = await store.removeChannelLinks(trx, accountId, id, channelId === undefined ? null : [channelId]);
    if (remaining === 0 && current.status !== STATUS.ARCHIVED) {
      await store.updateSubscriber(trx, accountId, id, {
        status: STATUS.ARCHIVED,
        status_addition: ADDITION.UNSUBSCRIBED,
        updated_at: now,
      });
    }
    const after = remaining === 0 ? { status: STATUS.ARCHIVED, addition: ADDITION.UNSUBSCRIBED } : pairOf(current);
    if (current.status !== STATUS.ARCHIVED)
      await recordSubscriberEvents(
        trx,
        accountId,
        [
          {
            type: 'subscriber.unsubscribed',
            subscriberId: id,
            email: current.email,
            status: after.status,
            statusAddition: after.addition,
            channelId: channelId ?? null,
          },
        ],
        now,
      );
  });
  // The goodbye mail of a channel that names one (see the channel's optOutMailingId).
  if (left.length > 0) await sendGoodbyeMail(ctx, accountId, id, left);
  return getSubscriber(ctx, accountId, id);
}

// ---------------------------------------------------------------------------------------------
// bulk upsert

export interface BulkItemResult {
  index: number;
  id: number | null;
  status: 'created' | 'updated' | 'error';
  errors: FieldErrors | [];
}

interface PlannedSubscriber {
  row: NewSubscriberRow;
  isNew: boolean;
  values: Map<number, CustomValue>;
  channels: number[] | undefined;
  sendOptIn: boolean;
  indexes: number[];
}

/**
 * Upserts up to 1,000 subscribers by email in one transaction with batched SQL: one SELECT of the
 * existing rows, one multi-row upsert per 500 rows, batched custom values and channel links.
 * Items are applied in order as if sent one by one: an item that repeats an earlier email of the
 * same request updates what the earlier one wrote (the later value wins per field; the first is
 * "created" when the email was new, the later ones "updated", all with the same id). An invalid
 * item is an "error" result and changes nothing; the others are stored. `sendOptIn` applies to
 * newly created subscribers.
 */
export async function bulkUpsertSubscribers(
  ctx: Context,
  caller: Caller,
  items: readonly unknown[],
): Promise<BulkItemResult[]> {
  if (items.length > MAX_BULK_ITEMS) {
    throw new ServiceError(
      'too_many_recipients',
      `At most ${MAX_BULK_ITEMS} subscribers per request; send several requests.`,
      'subscribers',
    );
  }
  const { accountId } = caller;
  const vocabulary = await loadVocabulary(ctx, accountId);
  const results = new Array<BulkItemResult>(items.length);
  const inputs: Array<SubscriberInput | null> = items.map((raw, index) => {
    const parsed = parseSubscriberInput(raw, 'create', vocabulary);
    if (parsed.ok) return parsed.input;
    results[index] = { index, id: null, status: 'error', errors: parsed.errors };
    return null;
  });
  const emails = inputs.flatMap((i) => (i ? [i.email!] : []));
  const now = ctx.clock();

  const planned = await ctx.db.transaction().execute(async (trx) => {
    const blacklisted = (await store.accountHasBlacklist(trx, accountId))
      ? await findBlacklisted(trx, accountId, emails)
      : new Set<string>();
    const existing = await store.findSubscribersByEmails(trx, ctx.dialect, accountId, emails);
    const plan = new Map<string, PlannedSubscriber>();
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index];
      if (!input) continue;
      const email = input.email!;
      if (blacklisted.has(email)) {
        results[index] = { index, id: null, status: 'error', errors: { email: [BLACKLISTED] } };
        continue;
      }
      const before = existing.get(email);
      const entry: PlannedSubscriber = plan.get(email) ?? {
        row: completeRow(before ?? newRowBase(accountId, email, now)),
        isNew: !before,
        values: new Map(),
        channels: undefined,
        sendOptIn: false,
        indexes: [],
      };
      const first = entry.indexes.length === 0;
      const current = entry.isNew && first ? null : pairOf(entry.row);
      const resolved = resolveStatus(current, input);
      const refusal = resolved.ok ? statusChangeRefusal(caller, current ?? NEW_SUBSCRIBER, resolved.pair) : null;
      if (!resolved.ok || refusal) {
        results[index] = {
          index,
          id: null,
          status: 'error',
          errors: resolved.ok ? { status: [refusal!] } : { [resolved.field]: [resolved.message] },
        };
        continue;
      }
      applyInput(entry.row, input);
      entry.row.status = resolved.pair.status;
      entry.row.status_addition = resolved.pair.addition;
      entry.row.updated_at = now;
      if (input.customerFields) for (const [fieldId, v] of input.customerFields) entry.values.set(fieldId, v);
      if (input.channels) entry.channels = input.channels;
      if (entry.isNew && first && input.sendOptIn) entry.sendOptIn = true;
      results[index] = { index, id: null, status: entry.isNew && first ? 'created' : 'updated', errors: [] };
      entry.indexes.push(index);
      if (first) plan.set(email, entry);
    }
    if (plan.size === 0) return [];

    const ids = await store.upsertSubscribers(
      trx,
      [...plan.values()].map((p) => p.row),
    );
    const values: FieldValueRow[] = [];
    const newLinks: store.ChannelSet[] = [];
    const replacedLinks: store.ChannelSet[] = [];
    for (const [email, p] of plan) {
      const id = ids.get(email)!;
      for (const i of p.indexes) results[i].id = id;
      values.push(...fieldValueRows(id, p.values));
      // A new subscriber has no links to remove: inserting its set is enough.
      if (p.channels) (p.isNew ? newLinks : replacedLinks).push({ subscriberId: id, channelIds: p.channels });
    }
    const reactivated = [...plan].filter(([email, p]) =>
      leavesArchive(existing.has(email) ? pairOf(existing.get(email)!) : null, pairOf(p.row)),
    );
    if (reactivated.length)
      await deleteSuppressionsByEmail(
        trx,
        accountId,
        reactivated.map(([email]) => email),
      );
    await store.writeFieldValues(trx, accountId, values);
    await store.addChannelLinks(trx, accountId, newLinks, now);
    await store.replaceChannelLinks(trx, accountId, replacedLinks, now);
    await recordSubscriberEvents(
      trx,
      accountId,
      [...plan].map(([email, p]) => ({
        type: p.isNew ? 'subscriber.created' : 'subscriber.updated',
        subscriberId: ids.get(email)!,
        email,
        status: p.row.status,
        statusAddition: p.row.status_addition ?? null,
      })),
      now,
    );
    return [...plan.entries()]
      .filter(([, p]) => p.sendOptIn)
      .map(([email, p]) => ({ id: ids.get(email)!, channelId: p.channels?.[0] ?? null }));
  });

  for (const p of planned) await trySendOptIn(ctx, accountId, p.id, p.channelId);
  return results;
}

// ---------------------------------------------------------------------------------------------
// export

export interface SubscriberExport {
  /** The custom fields that are available for export, in id order (the CSV's extra columns). */
  fieldIds: number[];
  /** Pages of at most EXPORT_PAGE_SIZE subscribers in the requested order. */
  pages: AsyncGenerator<SubscriberRecord[]>;
}

/**
 * Checks the parameters at once (so a bad search is a 422, not a broken stream) and returns a
 * generator that walks the filtered list in keyset-paged order: memory stays one page.
 */
export async function exportSubscribers(
  ctx: Context,
  accountId: string,
  query: { search?: string; sorting?: string },
): Promise<SubscriberExport> {
  const filter = await subscriberFilter(ctx, accountId, query.search);
  const sorting: SortKey[] = grammar(() => parseSubscriberSorting(query.sorting));
  const vocabulary = await loadVocabulary(ctx, accountId);
  const exported = vocabulary.fields.filter((f) => f.exportable);
  async function* pages(): AsyncGenerator<SubscriberRecord[]> {
    let after: SubscriberRow | null = null;
    for (;;) {
      const rows = await store.listSubscribersAfter(ctx.db, filter, sorting, after, EXPORT_PAGE_SIZE);
      if (rows.length === 0) return;
      yield await enrich(ctx, accountId, rows, exported);
      if (rows.length < EXPORT_PAGE_SIZE) return;
      after = rows[rows.length - 1]!;
    }
  }
  return { fieldIds: exported.map((f) => f.id), pages: pages() };
}
