// Mailtarget's published contract (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json) gives
// accounts (companyId, subAccountId) and API keys integer ids. Both tables keep their text keys
// (every other table refers to them, and a key's public id stays inside the key string) and gain
// an `int_id`: numbered in creation order for the rows that exist, then one more for each new row.
// PostgreSQL numbers new rows from a sequence (the column's default); SQLite cannot add such a
// column to a table, so a trigger numbers each new row right after its insert (writers are
// serialized there, so max + 1 cannot race). Rows are never deleted (revoked keys and terminated
// accounts stay), so a number is never given twice.
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';

async function addIntegerId(db: Kysely<any>, dialect: SqlDialect, table: 'accounts' | 'api_keys'): Promise<void> {
  const t = sql.table(table);
  await db.schema.alterTable(table).addColumn('int_id', 'bigint').execute();
  await sql`UPDATE ${t} SET int_id = numbered.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM ${t}) AS numbered
    WHERE ${t}.id = numbered.id`.execute(db);
  await db.schema.createIndex(`${table}_int_id`).unique().on(table).column('int_id').execute();
  if (dialect === 'postgres') {
    // DDL takes no bound parameters: the sequence name (ours, constant) is written into the text.
    const sequence = sql.raw(`${table}_int_id_seq`);
    const sequenceName = sql.lit(`${table}_int_id_seq`);
    await sql`CREATE SEQUENCE ${sequence} OWNED BY ${t}.int_id`.execute(db);
    await sql`SELECT setval(${sequenceName}, COALESCE((SELECT MAX(int_id) FROM ${t}), 0) + 1, false)`.execute(db);
    await sql`ALTER TABLE ${t} ALTER COLUMN int_id SET DEFAULT nextval(${sequenceName})`.execute(db);
    await sql`ALTER TABLE ${t} ALTER COLUMN int_id SET NOT NULL`.execute(db);
  } else {
    await sql`CREATE TRIGGER ${sql.raw(`${table}_number_new_rows`)} AFTER INSERT ON ${t} WHEN NEW.int_id IS NULL
      BEGIN UPDATE ${t} SET int_id = (SELECT COALESCE(MAX(int_id), 0) + 1 FROM ${t}) WHERE id = NEW.id; END`.execute(
      db,
    );
  }
}

export function integerIdsMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await addIntegerId(db, dialect, 'accounts');
      await addIntegerId(db, dialect, 'api_keys');
      // GET /v1/sub-account lists a parent's sub-accounts in id order.
      await db.schema.createIndex('accounts_parent').on('accounts').columns(['parent_id', 'int_id']).execute();
    },
  };
}
