import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export async function getSetting(db: Kysely<Database>, name: string): Promise<string | null> {
  const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
  return row?.value ?? null;
}

/** Sets the value only if none is there yet; returns the value that is stored afterwards. */
export async function initSetting(db: Kysely<Database>, name: string, value: string): Promise<string> {
  await db
    .insertInto('settings')
    .values({ name, value })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return (await getSetting(db, name))!;
}
