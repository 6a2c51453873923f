// A PostgreSQL table whose rows hold their transaction's COMMIT open for half a second (a deferred
// constraint trigger that sleeps): long enough for a test to terminate the connection mid-COMMIT.
import { sql, type Kysely } from 'kysely';

export async function createSlowCommitTable(db: Kysely<any>, table: string): Promise<void> {
  await sql`CREATE TABLE ${sql.table(table)} (n integer PRIMARY KEY)`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION sleep_at_commit() RETURNS trigger
    AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$ LANGUAGE plpgsql`.execute(db);
  await sql`
    CREATE CONSTRAINT TRIGGER sleep_at_commit AFTER INSERT ON ${sql.table(table)}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sleep_at_commit()`.execute(db);
}
