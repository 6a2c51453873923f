// Cached MTA-STS policies of recipient domains (not of any account: a policy is the domain's own).
import type { Kysely } from 'kysely';
import type { Database, MtaStsPoliciesTable } from './schema.ts';

export async function findMtaStsPolicy(db: Kysely<Database>, domain: string): Promise<MtaStsPoliciesTable | undefined> {
  return db.selectFrom('mta_sts_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
}

export async function saveMtaStsPolicy(db: Kysely<Database>, row: MtaStsPoliciesTable): Promise<void> {
  const { domain: _domain, ...rest } = row;
  await db
    .insertInto('mta_sts_policies')
    .values(row)
    .onConflict((oc) => oc.column('domain').doUpdateSet(rest))
    .execute();
}
