import type { Kysely, Transaction, Insertable, Selectable } from 'kysely';
import type { Database, EventsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type NewEvent = Insertable<EventsTable>;

const INSERT_CHUNK = 1000;

export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += INSERT_CHUNK) {
    await db
      .insertInto('events')
      .values(events.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

export async function listTransmissionEvents(
  db: Db,
  accountId: string,
  transmissionId: string,
  limit: number,
): Promise<Selectable<EventsTable>[]> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('transmission_id', '=', transmissionId)
    .where('account_id', '=', accountId)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
}

export async function listMessageEvents(
  db: Db,
  accountId: string,
  messageId: string,
): Promise<Selectable<EventsTable>[]> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('message_id', '=', messageId)
    .where('account_id', '=', accountId)
    .orderBy('id', 'asc')
    .execute();
}
