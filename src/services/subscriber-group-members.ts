// The members of a subscriber group: listed (with the subscriber search, sorting and paging),
// added and removed. Dynamic groups are listed like the others, but their members come from their
// conditions, so adding or removing by hand is refused (423/1025, the group is "locked" for that).
//
// Adding and removing take {subscriberIds?, emails?} with at most 1,000 entries in all (more is a
// 413). Only the account's live subscribers count; ids and emails that name none are reported back
// in the answer, never a reason to refuse the request.
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { grammarAsync, grammar, type ListQuery, type Page } from './marketing-params.ts';
import { parsePaging } from '../domain/query-grammar.ts';
import { parseSubscriberSearch, parseSubscriberSorting } from './subscriber-search.ts';
import { GROUP_TYPE, findGroupOr404, membershipOf, subscriberShape } from './subscriber-groups.ts';
import { presentFieldValue } from '../domain/customer-field-values.ts';
import { subscriberFieldTypes } from '../store/customer-fields.ts';
import * as store from '../store/subscriber-groups.ts';
import type { Database } from '../store/schema.ts';
import type { Transaction } from 'kysely';
import type { GroupRow, SubscriberRow } from '../store/subscriber-groups.ts';
import type { SubscriberRecord } from './subscribers.ts';

export const MAX_MEMBERSHIP_ITEMS = 1000;

export interface MembersInput {
  subscriberIds?: number[];
  emails?: string[];
}

export interface MembershipChange {
  subscriberGroupId: number;
  /** Subscribers that became members (add) or stopped being members (remove). */
  changed: number;
  /** Known subscribers left as they were: already members (add) or not members (remove). */
  unchanged: number;
  unknownSubscriberIds: number[];
  unknownEmails: string[];
  subscriberCount: number;
}

/** The group's subscribers as the same records GET /subscribers presents. */
export async function listGroupSubscribers(
  ctx: Context,
  accountId: string,
  groupId: number,
  query: ListQuery,
): Promise<Page<SubscriberRecord>> {
  const group = await findGroupOr404(ctx, accountId, groupId);
  const search = await grammarAsync(() => parseSubscriberSearch(ctx, accountId, query.search));
  const { sorting, paging } = grammar(() => ({
    sorting: parseSubscriberSorting(query.sorting),
    paging: parsePaging(query.page, query.limit),
  }));
  const membership = await membershipOf(ctx, accountId, group);
  const { total, rows } = await store.listSubscribers(
    ctx.db,
    accountId,
    membership,
    search,
    sorting,
    paging,
    subscriberShape(ctx),
  );
  return { total, rows: await subscriberRecords(ctx, accountId, rows), paging };
}

/** Every subscriber field of the account by id (null when unset), and the channel ids. */
async function subscriberRecords(ctx: Context, accountId: string, rows: SubscriberRow[]): Promise<SubscriberRecord[]> {
  if (rows.length === 0) return [];
  const [fields, extras] = await Promise.all([
    subscriberFieldTypes(ctx.db, accountId),
    store.subscriberExtras(
      ctx.db,
      accountId,
      rows.map((r) => Number(r.id)),
    ),
  ]);
  return rows.map((row) => {
    const id = Number(row.id);
    const own = extras.fieldValues.get(id);
    const customerFields: Record<string, unknown> = {};
    for (const f of fields) customerFields[String(f.id)] = presentFieldValue(f.type, own?.get(f.id) ?? null);
    return { row: { ...row, id }, customerFields, channels: extras.channels.get(id) ?? [] };
  });
}

function lockedIfDynamic(group: GroupRow): void {
  if (group.type === GROUP_TYPE.DYNAMIC) {
    throw new ServiceError(
      'forbidden',
      'The members of a dynamic subscriber group come from its conditions and cannot be added or removed by hand.',
    );
  }
}

interface Resolved {
  ids: number[];
  unknownSubscriberIds: number[];
  unknownEmails: string[];
}

/** Checks the size and resolves ids and emails to the account's live subscribers (deduplicated). */
async function resolveSubscribers(ctx: Context, accountId: string, input: MembersInput): Promise<Resolved> {
  const ids = input.subscriberIds ?? [];
  const emails = input.emails ?? [];
  if (ids.length + emails.length === 0)
    throw new ServiceError(
      'required',
      'The subscriberIds field is required when emails is not present.',
      'subscriberIds',
    );
  if (ids.length + emails.length > MAX_MEMBERSHIP_ITEMS) {
    const field = ids.length > MAX_MEMBERSHIP_ITEMS ? 'subscriberIds' : 'emails';
    throw new ServiceError(
      'too_many_recipients',
      `At most ${MAX_MEMBERSHIP_ITEMS} subscriberIds and emails in all per request; send several requests.`,
      field,
    );
  }
  const uniqueIds = [...new Set(ids)];
  const existing = await store.existingSubscriberIds(ctx.db, accountId, uniqueIds);
  const byLower = new Map<string, string>();
  for (const email of emails)
    if (!byLower.has(email.trim().toLowerCase())) byLower.set(email.trim().toLowerCase(), email);
  const idByEmail = await store.subscriberIdsByEmail(ctx.db, accountId, [...byLower.keys()]);
  const resolved = new Set<number>([...existing, ...idByEmail.values()]);
  return {
    ids: [...resolved],
    unknownSubscriberIds: uniqueIds.filter((id) => !existing.has(id)),
    unknownEmails: [...byLower].filter(([lower]) => !idByEmail.has(lower)).map(([, original]) => original),
  };
}

async function memberRowCount(ctx: Context, groupId: number): Promise<number> {
  return (await store.countMemberRows(ctx.db, [groupId])).get(groupId) ?? 0;
}

export async function addGroupSubscribers(
  ctx: Context,
  accountId: string,
  groupId: number,
  input: MembersInput,
): Promise<MembershipChange> {
  const now = ctx.clock();
  return changeMembers(ctx, accountId, groupId, input, (trx, ids) =>
    store.addMemberRows(trx, accountId, groupId, ids, now),
  );
}

export async function removeGroupSubscribers(
  ctx: Context,
  accountId: string,
  groupId: number,
  input: MembersInput,
): Promise<MembershipChange> {
  return changeMembers(ctx, accountId, groupId, input, (trx, ids) => store.removeMemberRows(trx, groupId, ids));
}

/** Adds or removes (`apply`: how many rows it changed) the subscribers a request names, in one transaction. */
async function changeMembers(
  ctx: Context,
  accountId: string,
  groupId: number,
  input: MembersInput,
  apply: (trx: Transaction<Database>, ids: number[]) => Promise<number>,
): Promise<MembershipChange> {
  const group = await findGroupOr404(ctx, accountId, groupId);
  lockedIfDynamic(group);
  const resolved = await resolveSubscribers(ctx, accountId, input);
  const changed = await ctx.db.transaction().execute((trx) => apply(trx, resolved.ids));
  return {
    subscriberGroupId: groupId,
    changed,
    unchanged: resolved.ids.length - changed,
    unknownSubscriberIds: resolved.unknownSubscriberIds,
    unknownEmails: resolved.unknownEmails,
    subscriberCount: await memberRowCount(ctx, groupId),
  };
}

/** Removes one member; 404 when the subscriber is unknown or not in the group. */
export async function removeGroupSubscriber(
  ctx: Context,
  accountId: string,
  groupId: number,
  subscriberId: number,
): Promise<void> {
  const group = await findGroupOr404(ctx, accountId, groupId);
  lockedIfDynamic(group);
  const existing = await store.existingSubscriberIds(ctx.db, accountId, [subscriberId]);
  if (!existing.has(subscriberId)) throw notFound('Subscriber');
  const removed = await store.removeMemberRows(ctx.db, groupId, [subscriberId]);
  if (removed === 0) throw new ServiceError('not_found', 'Subscriber is not a member of this subscriber group');
}
