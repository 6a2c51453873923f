import type { Kysely } from 'kysely';
import type { Database, ApiKeysTable } from './schema.ts';

export async function insertApiKey(db: Kysely<Database>, key: ApiKeysTable): Promise<void> {
  await db.insertInto('api_keys').values(key).execute();
}

export async function findApiKey(db: Kysely<Database>, id: string): Promise<ApiKeysTable | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchApiKey(db: Kysely<Database>, id: string, at: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
