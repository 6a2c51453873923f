// Opens the store: better-sqlite3 (WAL) by default, PostgreSQL when DATABASE_URL says postgres://.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import type { Database } from './schema.ts';
import { migrateToLatest, type SqlDialect } from './migrations.ts';
import { installPlannerStatistics } from './planner-statistics.ts';
import { resilientDialect } from './resilient-driver.ts';
import { StoreHealth, type StoreHealthListener } from './store-health.ts';

export interface Store {
  db: Kysely<Database>;
  dialect: SqlDialect;
  health: StoreHealth;
  close(): Promise<void>;
}

// PostgreSQL returns bigint columns as strings by default; our bigints are epoch milliseconds
// and counters, all well inside Number's exact range.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Kysely prepares every query anew; on the hot paths (accept, claim, outcome) the same few SQL
 * texts repeat thousands of times a second, so prepared statements are kept by their SQL text.
 * Safe because Kysely runs one statement at a time on the connection.
 * Multi-row statements are not kept: each batch size is another text, and a compiled statement of
 * a few hundred rows holds ~170 KB of native memory (256 of them: 44 MB, outside V8's heap limit).
 * Preparing one per batch costs a few µs per row.
 */
const MAX_CACHED_SOURCE = 4096;

function cachePreparedStatements(sqlite: SQLite.Database, maxEntries = 1000): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (source.length > MAX_CACHED_SOURCE) return statement;
      if (cache.size >= maxEntries) cache.clear();
      cache.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

/** The settings of a SQLite connection that come from the configuration. */
export interface SqliteSettings {
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  sqliteCacheMb?: number;
}

/**
 * A connection to the SQLite file with the store's settings (WAL, synchronous, cache, prepared
 * statements kept). The store's own, and the submission commit thread's second one (see
 * services/submission-commit-thread.ts), are opened the same way.
 */
export function openSqliteFile(file: string, opts: SqliteSettings = {}): SQLite.Database {
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${opts.sqliteSynchronous ?? 'FULL'}`);
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Negative: KiB. Big lists insert into many index pages at random; a cache that holds the
  // indexes saves a read (and an early write) per row.
  sqlite.pragma(`cache_size = -${Math.round((opts.sqliteCacheMb ?? 32) * 1024)}`);
  // A checkpoint every ~40 MB of WAL instead of 4 MB: a page rewritten by many commits is copied
  // back to the database once, not once per commit (a 200k-row import: 29 s → 16 s).
  sqlite.pragma('wal_autocheckpoint = 10000');
  cachePreparedStatements(sqlite);
  return sqlite;
}

/**
 * Another connection to a SQLite store that openStore has already opened (and migrated): for a
 * thread that writes beside the event loop's connection. Its transactions begin IMMEDIATE (they
 * take the write lock first, waiting for the other connection's commit), so that a read inside one
 * never goes stale before its write (SQLITE_BUSY_SNAPSHOT).
 */
export function openSqliteConnection(databaseUrl: string, opts: SqliteSettings = {}): Store {
  if (!databaseUrl.startsWith('sqlite:')) throw new Error('openSqliteConnection: not a SQLite store');
  const health = new StoreHealth(null);
  const sqlite = openSqliteFile(databaseUrl.slice('sqlite:'.length), opts);
  const dialect = resilientDialect(new ImmediateSqliteDialect({ database: sqlite }), { health, reconnects: false });
  const db = new Kysely<Database>({ dialect });
  return { db, dialect: 'sqlite', health, close: () => db.destroy() };
}

/** SQLite's dialect with `BEGIN IMMEDIATE` transactions (see openSqliteConnection). */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(settings);
  }

  override createDriver(): Driver {
    return new (class extends SqliteDriver {
      override async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      }
    })(this.settings);
  }
}

export async function openStore(
  databaseUrl: string,
  opts: SqliteSettings & {
    poolSize?: number;
    /** Told once when the store becomes unavailable (connection lost, disk full) and once when it is back. */
    health?: StoreHealthListener;
  } = {},
): Promise<Store> {
  const health = new StoreHealth(opts.health ?? null);
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    const sqlite = openSqliteFile(file, opts);
    const dialect = resilientDialect(new SqliteDialect({ database: sqlite }), { health, reconnects: false });
    const db = new Kysely<Database>({ dialect });
    await migrateToLatest(db, 'sqlite');
    // Written at every start: an ANALYZE run by hand would otherwise replace them.
    await installPlannerStatistics(db, 'sqlite');
    return { db, dialect: 'sqlite', health, close: () => db.destroy() };
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.poolSize ?? 10 });
  // pg emits 'error' when a connection dies (PostgreSQL restarted or failed over, the backend was
  // terminated): on the pool for an idle connection, on the client itself for one that is checked
  // out, even between two statements of a transaction. Unheard, either event ends the process. The
  // statement that was running fails on its own (and is retried or answered 503), and the pool drops
  // the dead connection, so both only report to the health tracker.
  pool.on('error', (error) => health.failed(error));
  pool.on('connect', (client) => client.on('error', (error) => health.failed(error)));
  const dialect = resilientDialect(new PostgresDialect({ pool }), { health, reconnects: true });
  const db = new Kysely<Database>({ dialect });
  await migrateToLatest(db, 'postgres');
  return { db, dialect: 'postgres', health, close: () => db.destroy() };
}
