import type { Kysely, Transaction } from 'kysely';
import type { Database, TransmissionsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertTransmission(db: Db, row: TransmissionsTable): Promise<void> {
  await db.insertInto('transmissions').values(row).execute();
}

export async function findTransmission(db: Db, accountId: string, id: string): Promise<TransmissionsTable | undefined> {
  return db
    .selectFrom('transmissions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findTransmissionById(db: Db, id: string): Promise<TransmissionsTable | undefined> {
  return db.selectFrom('transmissions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Per-status message counts of one transmission (index messages_transmission). */
export async function countMessagesByStatus(db: Db, transmissionId: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('transmission_id', '=', transmissionId)
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Of these transmissions, the ones sent as transactional mail. */
export async function transactionalTransmissionIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('transmissions')
    .select('id')
    .where('id', 'in', [...new Set(ids)])
    .where('transactional', '=', 1)
    .execute();
  return new Set(rows.map((r) => r.id));
}
