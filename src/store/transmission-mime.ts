// A submitted message's MIME, kept once per SMTP transmission (migration 0009).
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export async function findTransmissionMime(db: Kysely<Database>, transmissionId: string): Promise<Buffer | null> {
  const row = await db
    .selectFrom('transmission_mime')
    .select('mime')
    .where('transmission_id', '=', transmissionId)
    .executeTakeFirst();
  if (!row) return null;
  return Buffer.isBuffer(row.mime) ? row.mime : Buffer.from(row.mime);
}
