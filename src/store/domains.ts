import type { Kysely, Transaction } from 'kysely';
import type { Database, SendingDomainsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function isDomainVerified(db: Db, accountId: string, domain: string): Promise<boolean> {
  const row = await db
    .selectFrom('sending_domains')
    .select('id')
    .where('account_id', '=', accountId)
    .where('domain', '=', domain.toLowerCase())
    .where('status', '=', 'verified')
    .executeTakeFirst();
  return row !== undefined;
}

/** The account's domain record for signing (any status: a key signs even before DNS is verified). */
export async function findSigningDomain(
  db: Db,
  accountId: string,
  domain: string,
): Promise<SendingDomainsTable | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('domain', '=', domain.toLowerCase())
    .executeTakeFirst();
}

export async function insertDomain(db: Db, row: SendingDomainsTable): Promise<void> {
  await db.insertInto('sending_domains').values(row).execute();
}

export async function findDomain(db: Db, accountId: string, id: string): Promise<SendingDomainsTable | undefined> {
  return db
    .selectFrom('sending_domains')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listDomains(
  db: Db,
  accountId: string,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: SendingDomainsTable[] }> {
  const base = db.selectFrom('sending_domains').where('account_id', '=', accountId);
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return { count: Number(c.n), rows };
}

export async function updateDomainVerification(
  db: Db,
  accountId: string,
  id: string,
  v: Pick<
    SendingDomainsTable,
    'spf_verified' | 'dkim_verified' | 'cname_verified' | 'dmarc_verified' | 'status' | 'last_checked_at'
  > &
    Pick<SendingDomainsTable, 'dkim_ed25519_verified'>,
): Promise<void> {
  await db.updateTable('sending_domains').set(v).where('account_id', '=', accountId).where('id', '=', id).execute();
}

export async function deleteDomain(db: Db, accountId: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom('sending_domains')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Inserts the domain unless the account already has it; false when it does. The unique index on
 * (account_id, domain) decides, so two concurrent adds of the same name cannot both succeed.
 */
export async function insertDomainUnlessTaken(db: Db, row: SendingDomainsTable): Promise<boolean> {
  const inserted = await db
    .insertInto('sending_domains')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'domain']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
