import type { Kysely, Transaction } from 'kysely';
import type { Database, IdempotencyKeysTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function findIdempotencyKey(
  db: Db,
  accountId: string,
  scope: string,
  key: string,
  notBefore: number,
): Promise<IdempotencyKeysTable | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('created_at', '>=', notBefore)
    .executeTakeFirst();
}

/** Stores the key; an expired record under the same key is replaced. Returns false if a live one exists. */
export async function saveIdempotencyKey(db: Db, row: IdempotencyKeysTable, notBefore: number): Promise<boolean> {
  await db
    .deleteFrom('idempotency_keys')
    .where('account_id', '=', row.account_id)
    .where('scope', '=', row.scope)
    .where('key', '=', row.key)
    .where('created_at', '<', notBefore)
    .execute();
  const result = await db
    .insertInto('idempotency_keys')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'scope', 'key']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Records the answer of a request that reserved its key (response_status 0 until then). */
export async function completeIdempotencyKey(
  db: Db,
  accountId: string,
  scope: string,
  key: string,
  status: number,
  body: string,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: status, response_body: body })
    .where('account_id', '=', accountId)
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

export async function deleteIdempotencyKey(db: Db, accountId: string, scope: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('account_id', '=', accountId)
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}
