// Subscriber indexes shaped for the list queries (measured over 1,000,000 subscribers, see
// BENCHMARKS.md). Every subscriber query says `deleted_at IS NULL` (erased rows are tombstones),
// so every index is partial on it: a COUNT or a filter is answered from the index alone, without a
// lookup in the table per matching row to check `deleted_at`.
// Columns that most subscribers leave empty (status addition, birthday, the engagement dates) are
// indexed only where set: comparisons on them imply IS NOT NULL, so the index still serves every
// `>`, `<`, `=`, and a bulk insert of rows without them pays nothing for those indexes.
// The email index stays unique among live subscribers; erased rows have no email anyway.
// subscriber_generation counts writes to subscribers and their custom values (SQLite triggers), so
// the exact list totals can be remembered until the data changes (src/services/subscriber-counts.ts).
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';

export const ALWAYS_SET_COLUMNS = [
  'status',
  'gender_id',
  'language_iso',
  'firstname',
  'lastname',
  'company',
  'postcode',
  'city',
  'created_at',
  'updated_at',
] as const;
export const MOSTLY_EMPTY_COLUMNS = [
  'status_addition',
  'birthday',
  'opt_in_confirmed_at',
  'last_opened_at',
  'last_clicked_at',
] as const;

export function subscriberIndexesMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      // Names are constants of this file, never input.
      for (const col of [...ALWAYS_SET_COLUMNS, ...MOSTLY_EMPTY_COLUMNS]) {
        await db.schema.dropIndex(`subscribers_account_${col}`).execute();
      }
      await db.schema.dropIndex('subscribers_account_email').execute();
      await sql`CREATE UNIQUE INDEX subscribers_live_email ON subscribers (account_id, email) WHERE deleted_at IS
        NULL`.execute(db);
      // Unfiltered lists and totals: id order and a narrow index to count.
      await sql`CREATE INDEX subscribers_live ON subscribers (account_id, id) WHERE deleted_at IS NULL`.execute(db);
      for (const col of ALWAYS_SET_COLUMNS) {
        await sql`CREATE INDEX ${sql.id(`subscribers_live_${col}`)} ON subscribers (account_id, ${sql.id(col)}) WHERE
          deleted_at IS NULL`.execute(db);
      }
      for (const col of MOSTLY_EMPTY_COLUMNS) {
        await sql`CREATE INDEX ${sql.id(`subscribers_live_${col}`)} ON subscribers (account_id, ${sql.id(col)}) WHERE
          deleted_at IS NULL AND ${sql.id(col)} IS NOT NULL`.execute(db);
      }

      await db.schema
        .createTable('subscriber_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('n', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('subscriber_generation').values({ id: 1, n: 0 }).execute();
      // On SQLite one process owns the file and statements never interleave with a transaction, so
      // a count read after the generation can be remembered under it. Several PostgreSQL processes
      // would need more care: there the totals are always counted (no triggers).
      if (dialect === 'sqlite') {
        for (const table of ['subscribers', 'subscriber_field_values']) {
          for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
            await sql`CREATE TRIGGER ${sql.id(`${table}_${event.toLowerCase()}_generation`)} AFTER ${sql.raw(event)}
              ON ${sql.id(table)} BEGIN UPDATE subscriber_generation SET n = n + 1 WHERE id = 1; END`.execute(db);
          }
        }
      }
    },
  };
}
