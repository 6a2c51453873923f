import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, SendingDomainsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type SendingDomainRow = Selectable<SendingDomainsTable>;
export type NewSendingDomain = Omit<SendingDomainRow, 'id' | 'assignment'> & { assignment?: string };

/**
 * The domains an account may use: its own, and those its parent shares with every sub-account
 * (assignment ALL). A shared domain stays the parent's: only the parent changes or deletes it.
 */
function usableBy(accountId: string) {
  return (eb: ExpressionBuilder<Database, 'sending_domains'>) =>
    eb.or([
      eb('sending_domains.account_id', '=', accountId),
      eb.and([
        eb('sending_domains.assignment', '=', 'ALL'),
        eb(
          'sending_domains.account_id',
          '=',
          eb.selectFrom('accounts').select('parent_id').where('id', '=', accountId),
        ),
      ]),
    ]);
}

/** Own first: a sub-account's own record of a name wins over its parent's shared one. */
const ownFirst = (accountId: string) => sql`case when account_id = ${accountId} then 0 else 1 end`;

export async function isDomainVerified(db: Db, accountId: string, domain: string): Promise<boolean> {
  const row = await db
    .selectFrom('sending_domains')
    .select('id')
    .where('domain', '=', domain.toLowerCase())
    .where('status', '=', 'verified')
    .where(usableBy(accountId))
    .executeTakeFirst();
  return row !== undefined;
}

/** The domain record for signing (any status: a key signs even before DNS is verified). */
export async function findSigningDomain(
  db: Db,
  accountId: string,
  domain: string,
): Promise<SendingDomainRow | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('domain', '=', domain.toLowerCase())
    .where(usableBy(accountId))
    .orderBy(ownFirst(accountId))
    .executeTakeFirst();
}

/** One of the account's own domains (the ones it may change). */
export async function findDomain(db: Db, accountId: string, id: number): Promise<SendingDomainRow | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** One of the account's own domains, or one its parent shares with it. */
export async function findUsableDomain(db: Db, accountId: string, id: number): Promise<SendingDomainRow | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('id', '=', id)
    .where(usableBy(accountId))
    .executeTakeFirst();
}

export interface DomainFilter {
  /** Part of the domain name, any case. */
  search?: string;
  status?: 'verified' | 'unverified';
}

export async function listDomains(
  db: Db,
  accountId: string,
  filter: DomainFilter,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: SendingDomainRow[] }> {
  let base = db.selectFrom('sending_domains').where(usableBy(accountId));
  if (filter.search) {
    // Domain names are stored lower-cased; the wildcards of LIKE are escaped.
    const pattern = '%' + filter.search.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    base = base.where(sql<boolean>`domain like ${pattern} escape '\\'`);
  }
  if (filter.status) base = base.where('status', '=', filter.status);
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return { count: Number(c.n), rows };
}

/** The account's own domains whose SPF record was not found at the last check, oldest first. */
export async function listUnverifiedSpf(db: Db, accountId: string): Promise<Array<{ id: number; domain: string }>> {
  return db
    .selectFrom('sending_domains')
    .select(['id', 'domain'])
    .where('account_id', '=', accountId)
    .where('spf_verified', '=', 0)
    .orderBy('id')
    .execute();
}

/** The account's oldest verified domain (its default sender domain), if any. */
export async function findDefaultDomain(db: Db, accountId: string): Promise<SendingDomainRow | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('status', '=', 'verified')
    .orderBy('id')
    .executeTakeFirst();
}

export async function updateDomainVerification(
  db: Db,
  accountId: string,
  id: number,
  v: Pick<
    SendingDomainRow,
    'spf_verified' | 'dkim_verified' | 'cname_verified' | 'dmarc_verified' | 'status' | 'last_checked_at'
  > &
    Pick<SendingDomainsTable, 'dkim_ed25519_verified'>,
): Promise<void> {
  await db.updateTable('sending_domains').set(v).where('account_id', '=', accountId).where('id', '=', id).execute();
}

export async function setDomainAssignment(db: Db, accountId: string, id: number, assignment: string): Promise<void> {
  await db
    .updateTable('sending_domains')
    .set({ assignment })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .execute();
}

export async function deleteDomain(db: Db, accountId: string, id: number): Promise<boolean> {
  const r = await db
    .deleteFrom('sending_domains')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Inserts the domain unless the account already has it; its new id, or null when it does. The
 * unique index on (account_id, domain) decides, so two concurrent adds of one name cannot both succeed.
 */
export async function insertDomainUnlessTaken(db: Db, row: NewSendingDomain): Promise<number | null> {
  const inserted = await db
    .insertInto('sending_domains')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'domain']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted === undefined ? null : Number(inserted.id);
}
