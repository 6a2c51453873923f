// Cached MTA-STS policies of recipient domains (not of any account: a policy is the domain's own).
import type { Kysely } from 'kysely';
import type { Database, MtaStsPoliciesTable } from './schema.ts';

export async function findMtaStsPolicy(db: Kysely<Database>, domain: string): Promise<MtaStsPoliciesTable | undefined> {
  return db.selectFrom('mta_sts_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
}

export async function saveMtaStsPolicy(db: Kysely<Database>, row: MtaStsPoliciesTable): Promise<void> {
  await db
    .insertInto('mta_sts_policies')
    .values(row)
    .onConflict((oc) =>
      oc.column('domain').doUpdateSet({
        policy_id: row.policy_id,
        mode: row.mode,
        mx: row.mx,
        max_age: row.max_age,
        fetched_at: row.fetched_at,
        expires_at: row.expires_at,
      }),
    )
    .execute();
}
