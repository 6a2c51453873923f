// Writes that need no flush to disk of their own. Some bookkeeping is harmless to lose in a power
// failure, because whatever depends on it being durable commits (with a flush) after it:
//   - a claim (status 'sending' and a lease): lost, the row is simply queued again; on SQLite
//     every lease is released at start anyway;
//   - a fan-out step (new outbox rows plus the mailing's cursor): lost together, they are made again.
// Both SQLite's WAL and PostgreSQL's WAL are written in order, so the flush of any later durable
// commit (a delivery outcome, an accepted transmission) also makes these earlier writes durable: an
// outcome can never survive a crash that its claim or its message row did not.
// Measured on a 40k-recipient mailing on SQLite (synchronous=FULL): the claim took ~700 µs per
// statement, nearly all of it the fsync; claims were a third of all database time.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { SqlDialect } from './migrations.ts';

const configuredSync = new WeakMap<Kysely<Database>, number>();

/** SQLite's `PRAGMA synchronous` levels: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
const NORMAL = 1;

/**
 * Runs `fn` in one transaction that commits without waiting for the disk (SQLite: synchronous
 * NORMAL for this transaction alone, on the connection held exclusively meanwhile; PostgreSQL:
 * `synchronous_commit = off` for this transaction). Only for writes whose loss is harmless (above).
 */
export async function unsyncedTransaction<T>(
  db: Kysely<Database>,
  dialect: SqlDialect,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (dialect === 'postgres') {
    return db.transaction().execute(async (trx) => {
      await sql`SET LOCAL synchronous_commit = off`.execute(trx);
      return fn(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    let level = configuredSync.get(db);
    if (level === undefined) {
      const row = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(conn);
      level = Number(row.rows[0]?.synchronous ?? 2);
      configuredSync.set(db, level);
    }
    // The level can only change outside a transaction; the connection is ours until the callback
    // ends, so nothing else commits under the lowered level.
    if (level <= NORMAL) return conn.transaction().execute(fn);
    await sql.raw(`PRAGMA synchronous = ${NORMAL}`).execute(conn);
    try {
      return await conn.transaction().execute(fn);
    } finally {
      await sql.raw(`PRAGMA synchronous = ${level}`).execute(conn);
    }
  });
}
