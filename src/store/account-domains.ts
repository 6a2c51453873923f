// What account views show about an account's sending domains: the default one (GET /v1/account)
// and a short list (a sub-account's detail).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface DomainLite {
  id: string | number;
  domain: string;
  createdAt: number;
  /** The last DNS check, else the creation. */
  updatedAt: number;
}

/** The account's oldest verified sending domain, else its oldest one; null when it has none. */
export async function defaultSendingDomain(db: Db, accountId: string): Promise<string | null> {
  const row = await db
    .selectFrom('sending_domains')
    .select('domain')
    .where('account_id', '=', accountId)
    .orderBy((eb) => eb.case().when('status', '=', 'verified').then(0).else(1).end())
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.domain ?? null;
}

/** At most `limit` of the account's sending domains, oldest first. */
export async function listDomainsLite(db: Db, accountId: string, limit: number): Promise<DomainLite[]> {
  const rows = await db
    .selectFrom('sending_domains')
    .select(['id', 'domain', 'created_at', 'last_checked_at'])
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    domain: r.domain,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.last_checked_at ?? r.created_at),
  }));
}
