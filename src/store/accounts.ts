// Accounts and sub-accounts. An account has a text id (what every other table refers to) and an
// integer id (int_id) that the APIs show; a sub-account is an account with a parent_id.
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, AccountsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type AccountRow = Selectable<AccountsTable>;
export type NewAccount = Omit<Insertable<AccountsTable>, 'int_id'>;

const row = (r: AccountRow): AccountRow => ({ ...r, int_id: Number(r.int_id), created_at: Number(r.created_at) });

/** Inserts the account and reads it back with the integer id the database gave it. */
export async function insertAccount(db: Db, account: NewAccount): Promise<AccountRow> {
  await db.insertInto('accounts').values(account).execute();
  return (await findAccount(db, account.id))!;
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  const found = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  return found && row(found);
}

export async function findAccountByIntId(db: Db, intId: number): Promise<AccountRow | undefined> {
  const found = await db.selectFrom('accounts').selectAll().where('int_id', '=', intId).executeTakeFirst();
  return found && row(found);
}

/** The sub-account with this integer id, if it belongs to the parent. */
export async function findSubAccount(db: Db, parentId: string, intId: number): Promise<AccountRow | undefined> {
  const found = await db
    .selectFrom('accounts')
    .selectAll()
    .where('parent_id', '=', parentId)
    .where('int_id', '=', intId)
    .executeTakeFirst();
  return found && row(found);
}

export async function countAccounts(db: Db): Promise<number> {
  const r = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export interface SubAccountFilter {
  /** Part of the name, matched case-insensitively. */
  search?: string;
  status?: string;
  /** Only sub-accounts with at least one API key that is not revoked. */
  hasApiKey?: boolean;
}

function subAccountsOf(db: Db, parentId: string, f: SubAccountFilter) {
  let q = db.selectFrom('accounts').where('parent_id', '=', parentId);
  if (f.search) q = q.where(sql<boolean>`lower(name) like ${likePattern(f.search)} escape '\\'`);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.hasApiKey)
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('api_keys')
          .select('api_keys.id')
          .whereRef('api_keys.account_id', '=', 'accounts.id')
          .where('api_keys.revoked_at', 'is', null),
      ),
    );
  return q;
}

/** A page of the parent's sub-accounts in id order, and how many match in all. */
export async function listSubAccounts(
  db: Db,
  parentId: string,
  filter: SubAccountFilter,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: AccountRow[] }> {
  const [total, rows] = await Promise.all([
    subAccountsOf(db, parentId, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    subAccountsOf(db, parentId, filter).selectAll().orderBy('int_id', 'asc').offset(offset).limit(limit).execute(),
  ]);
  return { count: Number(total.n), rows: rows.map(row) };
}

/** Every sub-account of the parent (for the analytics breakdown): text id → integer id. */
export async function subAccountIds(db: Db, parentId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('accounts')
    .select(['id', 'int_id'])
    .where('parent_id', '=', parentId)
    .orderBy('int_id')
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.int_id)]));
}

export async function updateAccount(
  db: Db,
  id: string,
  changes: Partial<Pick<AccountsTable, 'name' | 'status'>>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('accounts').set(changes).where('id', '=', id).execute();
}

/** A LIKE pattern (escape character backslash) for "contains", lower-cased. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
