// The blacklist: addresses and whole domains (`*@example.com`) that are never sent to and never
// (re)subscribed. Entries are stored lower-cased; a duplicate is 409/1024.
//
// Decision where the spec is silent: adding an entry archives the account's live subscribers it
// matches (status 3, statusAddition 3 "manual"; subscribers already archived keep their reason),
// so lists, counts and exports show at once that they will get no mail. Removing an entry does
// not reactivate anyone: that is a status change with its own advanced permission.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import type { FieldWhitelist } from '../domain/query-grammar.ts';
import { isValidDomain, isValidEmail } from '../domain/email-address.ts';
import { parseListParams, type ListQuery, type Page } from './marketing-params.ts';
import type { SearchColumns } from '../store/query-compiler.ts';
import * as store from '../store/blacklist.ts';
import type { BlacklistRow } from '../store/blacklist.ts';

export const BLACKLIST_SEARCH: FieldWhitelist = {
  pattern: { type: 'string', conditions: ['=', 'like'], lowercase: true },
};
export const BLACKLIST_SORTABLE = ['id', 'pattern', 'createdAt'];
const BLACKLIST_COLUMNS: SearchColumns = {
  id: 'blacklist.id',
  pattern: 'blacklist.pattern',
  createdAt: 'blacklist.created_at',
};

export interface BlacklistInput {
  pattern?: string;
  email?: string;
}

export interface BlacklistAddition {
  row: BlacklistRow;
  archivedSubscribers: number;
}

/** An address or `*@domain`, lower-cased; 422 for anything else. */
export function normalizePattern(raw: string, field: string): string {
  const value = raw.trim().toLowerCase();
  if (value.startsWith('*@')) {
    if (!isValidDomain(value.slice(2)))
      throw invalid(field, 'must be an email address or *@ followed by a domain, e.g. *@example.com');
    return value;
  }
  if (!isValidEmail(value))
    throw invalid(field, 'must be an email address or *@ followed by a domain, e.g. *@example.com');
  return value;
}

export async function addToBlacklist(
  ctx: Context,
  accountId: string,
  input: BlacklistInput,
): Promise<BlacklistAddition> {
  if (input.pattern !== undefined && input.email !== undefined)
    throw new ServiceError('invalid', 'The pattern field is prohibited when email is present.', 'pattern');
  const field = input.pattern !== undefined ? 'pattern' : 'email';
  const raw = input.pattern ?? input.email;
  if (raw === undefined || raw.trim() === '') throw required('pattern');
  const pattern = normalizePattern(raw, field);
  const now = ctx.clock();
  const result = await ctx.db.transaction().execute(async (trx) => {
    const id = await store.insertBlacklistEntryUnlessTaken(trx, { account_id: accountId, pattern, created_at: now });
    if (id === null) return null;
    return { id, archived: await store.archiveSubscribersMatching(trx, accountId, pattern, now) };
  });
  if (result === null) throw new ServiceError('conflict', 'The resource is already existing.');
  return { row: await getEntry(ctx, accountId, result.id), archivedSubscribers: result.archived };
}

async function getEntry(ctx: Context, accountId: string, id: number): Promise<BlacklistRow> {
  const row = await store.findBlacklistEntry(ctx.db, accountId, id);
  if (!row) throw notFound('Blacklist entry');
  return row;
}

export async function listBlacklist(ctx: Context, accountId: string, query: ListQuery): Promise<Page<BlacklistRow>> {
  const params = parseListParams(query, BLACKLIST_SEARCH, BLACKLIST_SORTABLE);
  const spec = { ...params, dialect: ctx.dialect, columns: BLACKLIST_COLUMNS };
  const { total, rows } = await store.listBlacklist(ctx.db, accountId, spec);
  return { total, rows, paging: params.paging };
}

export async function removeFromBlacklist(ctx: Context, accountId: string, id: number): Promise<void> {
  if (!(await store.deleteBlacklistEntry(ctx.db, accountId, id))) throw notFound('Blacklist entry');
}
