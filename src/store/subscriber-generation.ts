// The write generation of subscriber data (migration 0006: bumped by SQLite triggers).
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export async function readSubscriberGeneration(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('subscriber_generation').select('n').where('id', '=', 1).executeTakeFirst();
  return Number(row?.n ?? 0);
}
