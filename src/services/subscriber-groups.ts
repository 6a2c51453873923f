// Subscriber groups: 1 static (members by hand or API), 2 dynamic (members are whoever its
// `conditions` — the subscriber search grammar — match when asked), 3 external (managed by an
// outside system; canEdit/canDelete/canAssignSubscribers tell dashboard users what they may change).
//
// Decisions where the spec is silent:
// - Names are unique per account as given (case-sensitive, trimmed); a taken name is 409/1024.
// - A group's type is fixed at creation (changing it is a 422): static members and dynamic
//   conditions do not translate into each other.
// - `conditions` (dynamic only, required there, at least one condition) is accepted as the JSON
//   array itself or as a string holding it; it is returned as the array. Static and external
//   groups take no conditions (422 when given non-null).
// - The can* flags are what the request says for external groups (default true); static and
//   dynamic groups are always fully editable, so false is a 422 there. The flags only describe
//   dashboard rights: the API (the outside system's channel) may always change an external group.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { GrammarError, type FieldWhitelist, type SearchAst } from '../domain/query-grammar.ts';
import { hasLineBreak } from '../domain/email-address.ts';
import {
  parseSubscriberSearch,
  subscriberCustomField,
  SUBSCRIBER_COLUMNS,
  SUBSCRIBER_LOWER_CASED_FIELDS,
} from './subscriber-search.ts';
import { parseListParams, type ListQuery, type Page } from './marketing-params.ts';
import type { SearchColumns } from '../store/query-compiler.ts';
import * as store from '../store/subscriber-groups.ts';
import type { GroupRow, Membership, SubscriberQueryShape } from '../store/subscriber-groups.ts';

export const GROUP_TYPE = { STATIC: 1, DYNAMIC: 2, EXTERNAL: 3 } as const;
const GROUP_TYPES: readonly number[] = Object.values(GROUP_TYPE);

export const GROUP_SEARCH: FieldWhitelist = {
  id: { type: 'integer' },
  name: { type: 'string' },
  type: { type: 'integer' },
  createdAt: { type: 'datetime' },
  updatedAt: { type: 'datetime' },
};
export const GROUP_SORTABLE = ['id', 'name', 'type', 'createdAt', 'updatedAt'];
const GROUP_COLUMNS: SearchColumns = {
  id: 'subscriber_groups.id',
  name: 'subscriber_groups.name',
  type: 'subscriber_groups.type',
  createdAt: 'subscriber_groups.created_at',
  updatedAt: 'subscriber_groups.updated_at',
};

const FLAGS = [
  ['canEdit', 'can_edit'],
  ['canDelete', 'can_delete'],
  ['canAssignSubscribers', 'can_assign_subscribers'],
] as const;

export interface GroupInput {
  name?: string;
  type?: number;
  conditions?: unknown;
  canEdit?: boolean;
  canDelete?: boolean;
  canAssignSubscribers?: boolean;
}

export interface GroupView {
  row: GroupRow;
  subscriberCount: number;
}

export function subscriberShape(ctx: Context): SubscriberQueryShape {
  return {
    dialect: ctx.dialect,
    columns: SUBSCRIBER_COLUMNS,
    customField: subscriberCustomField,
    lowerCasedFields: SUBSCRIBER_LOWER_CASED_FIELDS,
  };
}

// ---- conditions

/** Validates dynamic-group conditions; the canonical JSON text to store. */
async function checkedConditions(ctx: Context, accountId: string, value: unknown): Promise<string> {
  if (value === undefined || value === null) throw required('conditions');
  let raw: string;
  if (typeof value === 'string') raw = value;
  else if (Array.isArray(value)) raw = JSON.stringify(value);
  else throw invalid('conditions', 'must be a JSON array in the search grammar, e.g. [{"languageIso":"de"}]');
  const ast = await parseConditions(ctx, accountId, raw);
  if (ast.clauses.length === 0) throw invalid('conditions', 'must have at least one condition');
  return JSON.stringify(JSON.parse(raw));
}

/** The search grammar's errors, told as errors of `conditions`. */
async function parseConditions(ctx: Context, accountId: string, raw: string): Promise<SearchAst> {
  try {
    return await parseSubscriberSearch(ctx, accountId, raw);
  } catch (error) {
    if (error instanceof GrammarError) {
      throw new ServiceError(
        'invalid',
        `${error.path.replace(/^search/, 'conditions')}: ${error.reason}`,
        'conditions',
      );
    }
    throw error;
  }
}

/** Which subscribers the group holds. */
export async function membershipOf(ctx: Context, accountId: string, group: GroupRow): Promise<Membership> {
  if (group.type !== GROUP_TYPE.DYNAMIC) return { kind: 'rows', groupId: group.id };
  return { kind: 'search', ast: await parseConditions(ctx, accountId, group.conditions ?? '[]') };
}

// ---- groups

function checkedName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw required('name');
  if (hasLineBreak(trimmed)) throw invalid('name', 'must not contain line breaks');
  return trimmed;
}

/** The flags to store: the request's for external groups, always 1 otherwise. */
function checkedFlags(
  type: number,
  input: GroupInput,
  current?: GroupRow,
): Record<'can_edit' | 'can_delete' | 'can_assign_subscribers', number> {
  const out = { can_edit: 1, can_delete: 1, can_assign_subscribers: 1 };
  for (const [field, column] of FLAGS) {
    const given = input[field];
    if (type === GROUP_TYPE.EXTERNAL)
      out[column] = given === undefined ? (current ? current[column] : 1) : given ? 1 : 0;
    else if (given === false) throw invalid(field, 'can only be false for external groups (type 3)');
  }
  return out;
}

const alreadyExisting = () => new ServiceError('conflict', 'The resource is already existing.');

export async function createGroup(ctx: Context, accountId: string, input: GroupInput): Promise<GroupView> {
  if (input.name === undefined) throw required('name');
  if (input.type === undefined) throw required('type');
  const name = checkedName(input.name);
  const type = input.type;
  if (!GROUP_TYPES.includes(type)) throw invalid('type', 'must be 1 (static), 2 (dynamic) or 3 (external)');
  let conditions: string | null = null;
  if (type === GROUP_TYPE.DYNAMIC) conditions = await checkedConditions(ctx, accountId, input.conditions);
  else if (input.conditions !== undefined && input.conditions !== null)
    throw invalid('conditions', 'can only be given for dynamic groups (type 2)');
  const flags = checkedFlags(type, input);
  const now = ctx.clock();
  const id = await store.insertGroupUnlessTaken(ctx.db, {
    account_id: accountId,
    name,
    type,
    conditions,
    ...flags,
    created_at: now,
    updated_at: now,
  });
  if (id === null) throw alreadyExisting();
  return getGroup(ctx, accountId, id);
}

export async function findGroupOr404(ctx: Context, accountId: string, id: number): Promise<GroupRow> {
  const group = await store.findGroup(ctx.db, accountId, id);
  if (!group) throw notFound('Subscriber group');
  return { ...group, id: Number(group.id), type: Number(group.type) };
}

export async function getGroup(ctx: Context, accountId: string, id: number): Promise<GroupView> {
  const group = await findGroupOr404(ctx, accountId, id);
  const [view] = await withCounts(ctx, accountId, [group]);
  return view;
}

export async function listGroups(ctx: Context, accountId: string, query: ListQuery): Promise<Page<GroupView>> {
  const params = parseListParams(query, GROUP_SEARCH, GROUP_SORTABLE);
  const spec = { ...params, dialect: ctx.dialect, columns: GROUP_COLUMNS };
  const { total, rows } = await store.listGroups(ctx.db, accountId, spec);
  const groups = rows.map((r) => ({ ...r, id: Number(r.id), type: Number(r.type) }));
  return { total, rows: await withCounts(ctx, accountId, groups), paging: params.paging };
}

/** subscriberCount: live member rows for static/external groups, the search's COUNT for dynamic ones. */
async function withCounts(ctx: Context, accountId: string, groups: GroupRow[]): Promise<GroupView[]> {
  const rowCounts = await store.countMemberRows(
    ctx.db,
    groups.filter((g) => g.type !== GROUP_TYPE.DYNAMIC).map((g) => g.id),
  );
  const views: GroupView[] = [];
  for (const group of groups) {
    if (group.type !== GROUP_TYPE.DYNAMIC) {
      views.push({ row: group, subscriberCount: rowCounts.get(group.id) ?? 0 });
      continue;
    }
    let count = 0;
    try {
      count = await store.countSubscribers(
        ctx.db,
        accountId,
        await membershipOf(ctx, accountId, group),
        subscriberShape(ctx),
      );
    } catch (error) {
      // Only reachable if stored conditions stopped parsing (the custom field rules prevent it);
      // one broken group must not break the whole list.
      if (!(error instanceof ServiceError)) throw error;
      ctx.log.warn({ groupId: group.id, err: error.detail }, 'dynamic group conditions do not parse');
    }
    views.push({ row: group, subscriberCount: count });
  }
  return views;
}

export async function updateGroup(ctx: Context, accountId: string, id: number, input: GroupInput): Promise<GroupView> {
  const group = await findGroupOr404(ctx, accountId, id);
  const changes: store.GroupChanges = {};
  if (input.type !== undefined && input.type !== group.type)
    throw invalid('type', 'cannot be changed; create a new group of the other type');
  if (input.name !== undefined) {
    changes.name = checkedName(input.name);
    if (changes.name !== group.name && (await store.groupNameTaken(ctx.db, accountId, changes.name, id)))
      throw alreadyExisting();
  }
  if (group.type === GROUP_TYPE.DYNAMIC) {
    if (input.conditions !== undefined) changes.conditions = await checkedConditions(ctx, accountId, input.conditions);
  } else if (input.conditions !== undefined && input.conditions !== null) {
    throw invalid('conditions', 'can only be given for dynamic groups (type 2)');
  }
  Object.assign(changes, checkedFlags(group.type, input, group));
  try {
    await store.updateGroup(ctx.db, accountId, id, { ...changes, updated_at: ctx.clock() });
  } catch (error) {
    if (store.isUniqueViolation(error)) throw alreadyExisting();
    throw error;
  }
  return getGroup(ctx, accountId, id);
}

export async function deleteGroup(ctx: Context, accountId: string, id: number): Promise<void> {
  const found = await ctx.db.transaction().execute((trx) => store.deleteGroupWithMembers(trx, accountId, id));
  if (!found) throw notFound('Subscriber group');
}

/** Ids of the account's dynamic groups whose conditions filter on custom field `fieldId`. */
export async function dynamicGroupsUsingField(
  ctx: Context,
  accountId: string,
  fieldId: number,
): Promise<Array<{ id: number; name: string }>> {
  const key = `customerFields.${fieldId}`;
  const groups = await store.dynamicGroupConditions(ctx.db, accountId);
  return groups.filter((g) => {
    try {
      const parsed: unknown = JSON.parse(g.conditions ?? '[]');
      return (
        Array.isArray(parsed) &&
        parsed.some((o: unknown) => typeof o === 'object' && o !== null && Object.hasOwn(o, key))
      );
    } catch {
      return false;
    }
  });
}
