// Sub-accounts (GET/POST /v1/sub-account, GET/PUT /v1/sub-account/{id}) and acting on one: a
// parent account's key sends `X-MT-ATTR: <subAccountId>` and the request acts on that sub-account
// as if the sub-account's own key had made it. Sub-accounts have no sub-accounts of their own.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound } from './errors.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { checkName } from './api-keys.ts';
import { createKey, type KeyInput } from './api-key-management.ts';
import {
  asAccountStatus,
  parseAccountStatus,
  statusChangeProblem,
  type AccountStatus,
} from '../domain/account-status.ts';
import { newId } from '../domain/ids.ts';
import {
  findAccount,
  findSubAccount,
  insertAccount,
  listSubAccounts,
  updateAccount,
  type AccountRow,
} from '../store/accounts.ts';
import { listApiKeys, revokeAccountKeys, type ApiKeyRow } from '../store/api-keys.ts';
import { listDomainsLite, type DomainLite } from '../store/account-domains.ts';

/** A sub-account's detail lists at most this many keys and domains. */
const DETAIL_LIST_LIMIT = 1000;

/**
 * The key as it acts in this request. `X-MT-ATTR` (when present and not empty) names a sub-account
 * of the key's account by its integer id, or the key's own account; anything else is not found.
 * A terminated sub-account can still be read through its parent, never changed.
 */
export async function actingAccount(
  ctx: Context,
  key: ApiKeyInfo,
  header: string | undefined,
  opts: { readOnly: boolean },
): Promise<ApiKeyInfo> {
  const value = header?.trim();
  if (!value) return key;
  if (!/^\d{1,10}$/.test(value)) throw invalid('X-MT-ATTR', 'must be the integer id of a sub-account');
  const intId = Number(value);
  if (intId === key.accountIntId) return key;
  const sub = await findSubAccount(ctx.db, key.accountId, intId);
  if (!sub) throw notFound(`sub-account ${intId}`);
  const status = asAccountStatus(sub.status);
  if (status === 'Terminated' && !opts.readOnly)
    throw new ServiceError('account_suspended', `sub-account ${intId} is terminated: it can be read, not changed`);
  return { ...key, accountId: sub.id, accountIntId: sub.int_id, accountStatus: status };
}

/** The caller's account, when it may have sub-accounts (it is not a sub-account itself). */
async function parentOf(ctx: Context, caller: ApiKeyInfo): Promise<AccountRow> {
  const account = await findAccount(ctx.db, caller.accountId);
  if (!account) throw notFound('account');
  if (account.parent_id !== null)
    throw new ServiceError('forbidden', 'a sub-account cannot have sub-accounts of its own');
  return account;
}

async function subAccountOr404(ctx: Context, parent: AccountRow, intId: number): Promise<AccountRow> {
  const sub = await findSubAccount(ctx.db, parent.id, intId);
  if (!sub) throw notFound(`sub-account ${intId}`);
  return sub;
}

export interface SubAccountDetail {
  account: AccountRow;
  parent: AccountRow;
  keys: ApiKeyRow[];
  domains: DomainLite[];
  /** The secret of the key made with the sub-account (shown once, at creation). */
  newKey?: { intId: number; key: string };
}

async function detailOf(ctx: Context, parent: AccountRow, account: AccountRow): Promise<SubAccountDetail> {
  const [keys, domains] = await Promise.all([
    listApiKeys(ctx.db, { accountIds: [account.id] }, { field: 'id', direction: 'asc' }, 0, DETAIL_LIST_LIMIT),
    listDomainsLite(ctx.db, account.id, DETAIL_LIST_LIMIT),
  ]);
  return { account, parent, keys: keys.rows, domains };
}

function parseStatus(value: string | undefined, field = 'status'): AccountStatus | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const status = parseAccountStatus(value);
  if (!status) throw invalid(field, 'must be Active, Suspended or Terminated');
  return status;
}

export interface ListSubAccountsQuery {
  page: number;
  size: number;
  search?: string;
  status?: string;
  hasApiKey?: boolean;
}

export async function listSubAccountsOf(
  ctx: Context,
  caller: ApiKeyInfo,
  q: ListSubAccountsQuery,
): Promise<{ count: number; rows: AccountRow[] }> {
  const parent = await parentOf(ctx, caller);
  return listSubAccounts(
    ctx.db,
    parent.id,
    { search: q.search?.trim() || undefined, status: parseStatus(q.status), hasApiKey: q.hasApiKey === true },
    (q.page - 1) * q.size,
    q.size,
  );
}

export async function getSubAccount(ctx: Context, caller: ApiKeyInfo, intId: number): Promise<SubAccountDetail> {
  const parent = await parentOf(ctx, caller);
  return detailOf(ctx, parent, await subAccountOr404(ctx, parent, intId));
}

export interface CreateSubAccountInput {
  name?: string;
  status?: string;
  /** Also make the sub-account's first API key (its secret is in the answer, once). */
  createApiKey?: boolean;
  apiKeyName?: string;
  permissionIds?: KeyInput['permissionIds'];
  permissionType?: string;
  allowedIps?: string;
}

export async function createSubAccount(
  ctx: Context,
  caller: ApiKeyInfo,
  input: CreateSubAccountInput,
): Promise<SubAccountDetail> {
  const parent = await parentOf(ctx, caller);
  const name = checkName(input.name, 'name');
  const status = parseStatus(input.status) ?? 'Active';
  if (status === 'Terminated') throw invalid('status', 'must be Active or Suspended for a new sub-account');
  const id = newId();
  const newKey = await ctx.db.transaction().execute(async (trx) => {
    await insertAccount(trx, { id, name, parent_id: parent.id, status, created_at: ctx.clock() });
    if (!input.createApiKey) return undefined;
    const made = await createKey(
      ctx,
      caller,
      {
        name: input.apiKeyName?.trim() || `${name} key`,
        permissionIds: input.permissionIds,
        permissionType: input.permissionType,
        allowedIp: input.allowedIps,
      },
      { accountId: id, db: trx },
    );
    return { intId: made.row.int_id, key: made.key };
  });
  const detail = await detailOf(ctx, parent, (await findAccount(ctx.db, id))!);
  return newKey ? { ...detail, newKey } : detail;
}

export interface UpdateSubAccountInput {
  name?: string;
  status?: string;
}

/** Renames or changes the status; terminating revokes every key of the sub-account, for good. */
export async function updateSubAccount(
  ctx: Context,
  caller: ApiKeyInfo,
  intId: number,
  input: UpdateSubAccountInput,
): Promise<SubAccountDetail> {
  const parent = await parentOf(ctx, caller);
  const sub = await subAccountOr404(ctx, parent, intId);
  const from = asAccountStatus(sub.status);
  const name = input.name?.trim() ? checkName(input.name, 'name') : undefined;
  const status = parseStatus(input.status);
  const changing = (name !== undefined && name !== sub.name) || (status !== undefined && status !== from);
  if (changing && from === 'Terminated') throw invalid('status', statusChangeProblem(from, 'Active')!);
  await ctx.db.transaction().execute(async (trx) => {
    await updateAccount(trx, sub.id, { ...(name ? { name } : {}), ...(status ? { status } : {}) });
    if (status === 'Terminated' && from !== 'Terminated') await revokeAccountKeys(trx, sub.id, ctx.clock());
  });
  return detailOf(ctx, parent, (await findAccount(ctx.db, sub.id))!);
}
