// Managing API keys through the API (GET/POST /v1/api-key, GET/PUT/DELETE /v1/api-key/{id}).
// A caller sees the keys of the account it acts on and of that account's sub-accounts. Two rules
// keep a key from growing its own powers: a key cannot grant a permission it lacks (nor a sandbox
// key make a production key), and a key cannot revoke itself (so a script cannot lock its account
// out by mistake; another key or `posthorn keys revoke` can).
import type { Kysely, Transaction } from 'kysely';
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import {
  checkAllowedIps,
  checkName,
  createApiKey,
  resolvePermissions,
  type ApiKeyInfo,
  type Environment,
} from './api-keys.ts';
import {
  ALL_PERMISSIONS,
  PERMISSION_TYPES,
  permissionName,
  permissionsLacking,
  type PermissionId,
  type PermissionType,
} from '../domain/permissions.ts';
import {
  findApiKey,
  findApiKeyByIntId,
  findApiKeyForOperator,
  listApiKeys,
  revokeApiKey,
  updateApiKey,
  type ApiKeyRow,
  type ApiKeySort,
} from '../store/api-keys.ts';
import { findAccount, findAccountByIntId, subAccountIds, type AccountRow } from '../store/accounts.ts';
import type { Database } from '../store/schema.ts';

export interface KeyInput {
  name?: string;
  /** The contract's integer ids (names and slugs are accepted too). */
  permissionIds?: Array<number | string>;
  permissionType?: string;
  /** Comma-separated, as the contract has it, or a list. */
  allowedIp?: string | string[];
  environment?: string;
}

export interface ListKeysQuery {
  page: number;
  size: number;
  search?: string;
  sort?: string;
  subAccountId?: number;
  permissionType?: string;
}

/** The accounts whose keys the caller manages: its own (acting) account and that one's sub-accounts. */
async function managedAccounts(ctx: Context, caller: ApiKeyInfo): Promise<string[]> {
  return [caller.accountId, ...(await subAccountIds(ctx.db, caller.accountId)).keys()];
}

/**
 * The allow-list as the contract writes it ("1.2.3.4,10.0.0.0/8,"), or as a list. Empty means
 * absent (typed clients send "" for a field they do not set): no list on a new key, the list kept
 * on a change. "*" means any address (it clears a key's list).
 */
export function parseAllowedIps(value: string | string[] | undefined, field = 'allowedIp'): string[] | undefined {
  const list = (Array.isArray(value) ? value : (value ?? '').split(/[\s,]+/))
    .map((ip) => ip.trim())
    .filter((ip) => ip !== '');
  if (list.length === 0) return undefined;
  if (list.length === 1 && list[0] === '*') return [];
  return checkAllowedIps(list, field);
}

function parseEnvironment(value: string | undefined): Environment | undefined {
  if (value === undefined || value === '') return undefined;
  if (value !== 'production' && value !== 'sandbox') throw invalid('environment', 'must be production or sandbox');
  return value;
}

function parsePermissionType(value: string | undefined, field = 'permissionType'): PermissionType | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const type = value.trim().toLowerCase();
  if (!(PERMISSION_TYPES as string[]).includes(type)) throw invalid(field, `must be ${PERMISSION_TYPES.join(' or ')}`);
  return type as PermissionType;
}

/**
 * The permissions a new or changed key asks for: every one for permissionType "all", the listed
 * ones otherwise; undefined when the input names none. The caller must hold each of them.
 */
export function requestedPermissions(
  caller: ApiKeyInfo,
  input: Pick<KeyInput, 'permissionIds' | 'permissionType'>,
): PermissionId[] | undefined {
  const type = parsePermissionType(input.permissionType);
  const listed = input.permissionIds?.length ? resolvePermissions(input.permissionIds, 'permissionIds') : undefined;
  if (type === 'custom' && !listed) throw required('permissionIds');
  const wanted = type === 'all' ? ALL_PERMISSIONS : listed;
  if (!wanted) return undefined;
  const lacking = permissionsLacking(caller.permissions, wanted);
  if (lacking.length > 0)
    throw new ServiceError(
      'forbidden',
      `this API key cannot grant permissions it lacks: ${lacking.map((p) => permissionName(p)).join(', ')}`,
    );
  return wanted;
}

/** A sandbox key makes sandbox keys only (a production key could send what the sandbox would keep). */
export function requestedEnvironment(caller: ApiKeyInfo, value: string | undefined): Environment | undefined {
  const environment = parseEnvironment(value);
  if (environment === 'production' && caller.environment === 'sandbox')
    throw new ServiceError('forbidden', 'a sandbox API key cannot create or change a key for production');
  return environment;
}

const SORT_FIELDS = ['id', 'name', 'createdAt'] as const;

export function parseKeySort(value: string | undefined): ApiKeySort {
  if (value === undefined || value.trim() === '') return { field: 'createdAt', direction: 'desc' };
  const m = /^(-)?(id|name|createdAt)(?:[:, ](asc|desc))?$/i.exec(value.trim());
  const field = m && SORT_FIELDS.find((f) => f.toLowerCase() === m[2].toLowerCase());
  if (!m || !field)
    throw invalid('sort', 'must be id, name or createdAt, with :asc or :desc (or a leading - for descending)');
  const direction = m[1] ? 'desc' : ((m[3]?.toLowerCase() as 'asc' | 'desc' | undefined) ?? 'asc');
  return { field, direction };
}

export async function listKeys(
  ctx: Context,
  caller: ApiKeyInfo,
  q: ListKeysQuery,
): Promise<{ count: number; rows: ApiKeyRow[] }> {
  const type = parsePermissionType(q.permissionType);
  return listApiKeys(
    ctx.db,
    {
      accountIds: await managedAccounts(ctx, caller),
      search: q.search?.trim() || undefined,
      // subAccountId 0 is what a typed client sends for "none": no filter.
      accountIntId: q.subAccountId || undefined,
      permissions: type ? { json: JSON.stringify(ALL_PERMISSIONS), all: type === 'all' } : undefined,
    },
    parseKeySort(q.sort),
    (q.page - 1) * q.size,
    q.size,
  );
}

export async function getKey(ctx: Context, caller: ApiKeyInfo, intId: number): Promise<ApiKeyRow> {
  const row = await findApiKeyByIntId(ctx.db, intId, await managedAccounts(ctx, caller));
  if (!row) throw notFound(`API key ${intId}`);
  return row;
}

/**
 * Makes a key for the account the caller acts on (X-MT-ATTR: for that sub-account), or for
 * `accountId` when given (a new sub-account's first key). Without permissions in the input, the
 * new key gets the caller's own.
 */
export async function createKey(
  ctx: Context,
  caller: ApiKeyInfo,
  input: KeyInput,
  opts: { accountId?: string; db?: Kysely<Database> | Transaction<Database> } = {},
): Promise<{ row: ApiKeyRow; key: string }> {
  const db = opts.db ?? ctx.db;
  const name = checkName(input.name);
  const permissions = requestedPermissions(caller, input) ?? caller.permissions;
  const environment = requestedEnvironment(caller, input.environment) ?? caller.environment;
  const { key, info } = await createApiKey(
    ctx,
    {
      accountId: opts.accountId ?? caller.accountId,
      name,
      permissions,
      allowedIps: parseAllowedIps(input.allowedIp),
      environment,
    },
    db,
  );
  return { row: (await findApiKey(db, info.id))!, key };
}

export async function updateKey(ctx: Context, caller: ApiKeyInfo, intId: number, input: KeyInput): Promise<ApiKeyRow> {
  const row = await getKey(ctx, caller, intId);
  const permissions = requestedPermissions(caller, input);
  const allowedIps = parseAllowedIps(input.allowedIp);
  const environment = requestedEnvironment(caller, input.environment);
  await updateApiKey(ctx.db, row.id, {
    ...(input.name !== undefined && input.name !== '' ? { name: checkName(input.name) } : {}),
    ...(permissions ? { permissions: JSON.stringify(permissions) } : {}),
    ...(allowedIps ? { allowed_ips: JSON.stringify(allowedIps) } : {}),
    ...(environment ? { environment } : {}),
  });
  return (await findApiKey(ctx.db, row.id))!;
}

export async function revokeKey(ctx: Context, caller: ApiKeyInfo, intId: number): Promise<void> {
  const row = await getKey(ctx, caller, intId);
  if (row.id === caller.id)
    throw new ServiceError(
      'forbidden',
      'an API key cannot revoke itself; revoke it with another key that has ' +
        'the API Keys permission, or with `posthorn keys revoke`',
    );
  if (!(await revokeApiKey(ctx.db, row.id, ctx.clock()))) throw notFound(`API key ${intId}`);
}

// ---- the command line (`posthorn keys list`, `posthorn keys revoke`): the operator, no key ----

/** The account an operator names: by its integer id (digits) or its text id. */
export async function accountByRef(ctx: Context, ref: string): Promise<AccountRow> {
  const found = /^\d{1,10}$/.test(ref) ? await findAccountByIntId(ctx.db, Number(ref)) : await findAccount(ctx.db, ref);
  if (!found) throw notFound(`account ${ref}`);
  return found;
}

/** Every key that is not revoked, of one account (its integer or text id) or of all, in id order. */
export async function listKeysForOperator(ctx: Context, account?: string): Promise<ApiKeyRow[]> {
  const accountIds = account === undefined ? undefined : [(await accountByRef(ctx, account)).id];
  return (await listApiKeys(ctx.db, { accountIds }, { field: 'id', direction: 'asc' }, 0, 1_000_000)).rows;
}

/** Revokes a key named by its integer id or its 8-character public id; returns what it was. */
export async function revokeKeyByOperator(ctx: Context, ref: string): Promise<ApiKeyRow> {
  if (!/^(\d{1,10}|[A-Za-z0-9]{8})$/.test(ref))
    throw invalid('id', `"${ref}" is neither a key's integer id nor its 8-character public id`);
  const row = await findApiKeyForOperator(ctx.db, ref);
  if (!row || !(await revokeApiKey(ctx.db, row.id, ctx.clock())))
    throw notFound(`API key ${ref} (or it is revoked already)`);
  return row;
}
