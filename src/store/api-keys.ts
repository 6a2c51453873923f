// API keys: the public id (inside the key string) is the primary key, int_id the contract's id.
// Revoked keys keep their row (revoked_at set): transmissions name the key that sent them.
import { sql, type CompiledQuery, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, ApiKeysTable } from './schema.ts';
import { likePattern } from './accounts.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type NewApiKey = Omit<Insertable<ApiKeysTable>, 'int_id'>;

/** A key with what the APIs show about its account: own integer id and name, and its parent's. */
export interface ApiKeyRow extends Selectable<ApiKeysTable> {
  account_int_id: number;
  account_name: string;
  account_status: string;
  account_parent_id: string | null;
  parent_int_id: number | null;
  parent_name: string | null;
}

/** Inserts the key; returns the integer id the database gave it. */
export async function insertApiKey(db: Db, key: NewApiKey): Promise<number> {
  await db.insertInto('api_keys').values(key).execute();
  const row = await db.selectFrom('api_keys').select('int_id').where('id', '=', key.id).executeTakeFirstOrThrow();
  return Number(row.int_id);
}

function keysWithAccounts(db: Db) {
  return db
    .selectFrom('api_keys')
    .innerJoin('accounts as owner', 'owner.id', 'api_keys.account_id')
    .leftJoin('accounts as parent', 'parent.id', 'owner.parent_id');
}

const KEY_COLUMNS = [
  'api_keys.id',
  'api_keys.int_id',
  'api_keys.account_id',
  'api_keys.name',
  'api_keys.secret_hash',
  'api_keys.permissions',
  'api_keys.allowed_ips',
  'api_keys.environment',
  'api_keys.created_at',
  'api_keys.last_used_at',
  'api_keys.revoked_at',
  'api_keys.smtp_ip_auth',
  'owner.int_id as account_int_id',
  'owner.name as account_name',
  'owner.status as account_status',
  'owner.parent_id as account_parent_id',
  'parent.int_id as parent_int_id',
  'parent.name as parent_name',
] as const;

function toRow(r: Record<string, unknown>): ApiKeyRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    ...(r as unknown as ApiKeyRow),
    int_id: Number(r.int_id),
    created_at: Number(r.created_at),
    last_used_at: n(r.last_used_at),
    revoked_at: n(r.revoked_at),
    account_int_id: Number(r.account_int_id),
    parent_int_id: n(r.parent_int_id),
  };
}

/** The key a request presents, with its account (revoked keys too: the caller decides). */
export async function findApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  const r = await keysWithAccounts(db).select(KEY_COLUMNS).where('api_keys.id', '=', id).executeTakeFirst();
  return r && toRow(r);
}

/**
 * The live keys that authenticate SMTP connections by their client IP (few; no index needed); a
 * terminated account's keys are revoked with it, and left out here as well.
 */
export async function findSmtpIpAuthKeys(db: Db): Promise<ApiKeyRow[]> {
  const { rows } = await db.executeQuery(smtpIpAuthKeysQuery(db));
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

/**
 * The SMTP-IP key query, built and compiled once per database handle: it runs at every MAIL FROM of
 * such a session, and Kysely's building of its joins and 18 columns cost more than running it.
 */
const compiledSmtpIpAuthKeys = new WeakMap<Db, CompiledQuery>();

function smtpIpAuthKeysQuery(db: Db): CompiledQuery {
  let compiled = compiledSmtpIpAuthKeys.get(db);
  if (!compiled) {
    compiled = keysWithAccounts(db)
      .select(KEY_COLUMNS)
      .where('api_keys.smtp_ip_auth', '=', 1)
      .where('api_keys.revoked_at', 'is', null)
      .where('owner.status', '<>', 'Terminated')
      .orderBy('api_keys.created_at')
      .orderBy('api_keys.id')
      .compile();
    compiledSmtpIpAuthKeys.set(db, compiled);
  }
  return compiled;
}

export async function touchApiKey(db: Db, id: string, at: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}

export interface ApiKeyFilter {
  /** The accounts whose keys may be listed; undefined: every account (the command line). */
  accountIds?: string[];
  /** Part of the name (case-insensitive), or the key's public id. */
  search?: string;
  /** Only the keys of the account with this integer id. */
  accountIntId?: number;
  /** The stored permission list of an "all" key; with `all: false`, every other list. */
  permissions?: { json: string; all: boolean };
}

export type ApiKeySort = { field: 'id' | 'name' | 'createdAt'; direction: 'asc' | 'desc' };

function filtered(db: Db, f: ApiKeyFilter) {
  let q = keysWithAccounts(db).where('api_keys.revoked_at', 'is', null);
  if (f.accountIds) q = q.where('api_keys.account_id', 'in', f.accountIds.length ? f.accountIds : ['']);
  if (f.accountIntId !== undefined) q = q.where('owner.int_id', '=', f.accountIntId);
  if (f.search) {
    const search = f.search;
    q = q.where((eb) =>
      eb.or([
        eb(sql<string>`lower(api_keys.name)`, 'like', sql<string>`${likePattern(search)} escape '\\'`),
        eb('api_keys.id', '=', search),
      ]),
    );
  }
  if (f.permissions) q = q.where('api_keys.permissions', f.permissions.all ? '=' : '<>', f.permissions.json);
  return q;
}

const SORT_COLUMNS = { id: 'api_keys.int_id', name: 'api_keys.name', createdAt: 'api_keys.int_id' } as const;

/** A page of keys that are not revoked, and how many match in all. */
export async function listApiKeys(
  db: Db,
  filter: ApiKeyFilter,
  sort: ApiKeySort,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: ApiKeyRow[] }> {
  const [total, rows] = await Promise.all([
    filtered(db, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    filtered(db, filter)
      .select(KEY_COLUMNS)
      .orderBy(SORT_COLUMNS[sort.field], sort.direction)
      .orderBy('api_keys.int_id', sort.direction)
      .offset(offset)
      .limit(limit)
      .execute(),
  ]);
  return { count: Number(total.n), rows: rows.map(toRow) };
}

/** A key that is not revoked, by its integer id, when it belongs to one of the accounts. */
export async function findApiKeyByIntId(db: Db, intId: number, accountIds?: string[]): Promise<ApiKeyRow | undefined> {
  let q = keysWithAccounts(db)
    .select(KEY_COLUMNS)
    .where('api_keys.int_id', '=', intId)
    .where('api_keys.revoked_at', 'is', null);
  if (accountIds) q = q.where('api_keys.account_id', 'in', accountIds.length ? accountIds : ['']);
  const r = await q.executeTakeFirst();
  return r && toRow(r);
}

/** A key that is not revoked, by its public id (8 alphanumerics) or else its integer id. */
export async function findApiKeyForOperator(db: Db, ref: string): Promise<ApiKeyRow | undefined> {
  const active = () => keysWithAccounts(db).select(KEY_COLUMNS).where('api_keys.revoked_at', 'is', null);
  const byPublicId = /^[A-Za-z0-9]{8}$/.test(ref)
    ? await active().where('api_keys.id', '=', ref).executeTakeFirst()
    : undefined;
  const r =
    byPublicId ??
    (/^\d{1,10}$/.test(ref) ? await active().where('api_keys.int_id', '=', Number(ref)).executeTakeFirst() : undefined);
  return r && toRow(r);
}

export async function updateApiKey(
  db: Db,
  id: string,
  changes: Partial<Pick<ApiKeysTable, 'name' | 'permissions' | 'allowed_ips' | 'environment'>>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('api_keys').set(changes).where('id', '=', id).execute();
}

/** Revokes the key; false when it was revoked already. */
export async function revokeApiKey(db: Db, id: string, at: number): Promise<boolean> {
  const r = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Revokes every key of the account (a terminated sub-account). */
export async function revokeAccountKeys(db: Db, accountId: string, at: number): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .execute();
}
