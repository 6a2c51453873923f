// The fault-aware driver under every store: on SQLite, a ROLLBACK that fails no longer hides the
// error that caused it, and a transaction left open does not block the next one; on PostgreSQL
// (POSTHORN_TEST_DATABASE_URL), a backend terminated in the middle of a transaction, of a read and
// of a COMMIT, each with its own promise: no crash, the right error or a re-read, a pool that heals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/db.ts';
import { CommitOutcomeUnknown, storeFault } from '../../src/store/store-errors.ts';
import { createTestDatabase, pgBaseUrl, type TestDatabase } from '../helpers/database.ts';
import { waitFor } from '../helpers/server.ts';
import { createSlowCommitTable } from '../helpers/slow-commit.ts';

describe('the driver on SQLite', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-driver-'));
    store = await openStore(`sqlite:${path.join(dir, 'x.db')}`, { sqliteSynchronous: 'NORMAL' });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('throws the error that caused a rollback, not the failure of the rollback itself', async () => {
    // SQLite rolls a transaction back on its own after SQLITE_FULL; Kysely's ROLLBACK then fails.
    const cause = new Error('the real cause');
    const thrown = await store.db
      .transaction()
      .execute(async (trx) => {
        await sql`ROLLBACK`.execute(trx);
        throw cause;
      })
      .catch((e: unknown) => e);
    expect(thrown).toBe(cause);
    expect(await store.db.transaction().execute(async (trx) => (await sql`SELECT 1 AS one`.execute(trx)).rows)).toEqual(
      [{ one: 1 }],
    );
  });

  it('starts a transaction even when one was left open on the connection', async () => {
    await store.db.connection().execute(async (conn) => {
      await sql`BEGIN`.execute(conn);
    });
    const rows = await store.db.transaction().execute(async (trx) => (await sql`SELECT 2 AS two`.execute(trx)).rows);
    expect(rows).toEqual([{ two: 2 }]);
  });
});

describe.skipIf(!pgBaseUrl)('the driver on PostgreSQL with terminated backends', () => {
  let database: TestDatabase;
  let store: Store;
  let admin: pg.Client;
  const outages: string[] = [];

  const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);
  /** The pid of the backend of this database whose current statement matches `pattern`, once it runs. */
  const runningBackend = (pattern: string) =>
    waitFor(
      async () =>
        (
          await admin.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE $2",
            [new URL(database.url).pathname.slice(1), pattern],
          )
        ).rows[0]?.pid as number | undefined,
      5000,
      `a backend running ${pattern}`,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await openStore(database.url, {
      health: { unavailable: (d) => void outages.push(d), available: () => void outages.push('available') },
    });
    admin = new pg.Client({ connectionString: pgBaseUrl! });
    await admin.connect();
  });
  afterAll(async () => {
    // Whatever beforeAll got to make.
    await (store as Store | undefined)?.close();
    await (admin as pg.Client | undefined)?.end();
    await (database as TestDatabase | undefined)?.drop();
  });

  it('survives a backend terminated in the middle of a transaction, which fails as a lost connection', async () => {
    const thrown = await store.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
        await terminate(rows[0].pid);
        // The client is checked out and idle between two statements: pg emits 'error' on it now.
        await new Promise((r) => setTimeout(r, 100));
        await sql`SELECT 1`.execute(trx);
      })
      .catch((e: unknown) => e);
    expect(storeFault(thrown)).toBe('connection');
    expect(thrown).not.toBeInstanceOf(CommitOutcomeUnknown);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
    expect(outages[0]).toMatch(/connection was lost/);
    expect(outages).toContain('available');
  });

  it('reads again on a fresh connection when the backend of a read is terminated', async () => {
    const read = store.db.selectNoFrom(sql<string>`'still here'`.as('answer')).select(sql`pg_sleep(0.3)`.as('slept'));
    const pending = read.executeTakeFirstOrThrow();
    await terminate(await runningBackend('%pg_sleep(0.3)%'));
    expect((await pending).answer).toBe('still here');
  });

  it('gives every connection back after reads re-read through many terminations', async () => {
    // A re-read gives its dead connection back before pg has read the socket's end, so the pool can
    // hand that connection to a read waiting for one, which re-reads in turn while the first still
    // holds its wrapper. Each holder must release its own connection, or one stays checked out and
    // closing the store waits for ever (CI, 2026-12-04). Reads outnumber the connections, so some
    // always wait; every backend of the database is terminated every 100 ms.
    const small = await openStore(database.url, { poolSize: 3 });
    const name = new URL(database.url).pathname.slice(1);
    const until = Date.now() + 2500;
    const reader = async () => {
      let answered = 0;
      while (Date.now() < until) {
        const row = await small.db
          .selectNoFrom(sql<number>`1`.as('one'))
          .select(sql`pg_sleep(0.02)`.as('slept'))
          .executeTakeFirst()
          .catch(() => null);
        if (row?.one === 1) answered++;
      }
      return answered;
    };
    const terminator = async () => {
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      }
    };
    try {
      const [, ...answered] = await Promise.all([terminator(), ...Array.from({ length: 8 }, reader)]);
      expect(answered.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      const closed = await Promise.race([
        small.close().then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('a connection is still checked out'), 5000)),
      ]);
      expect(closed).toBe('closed');
    }
  });

  it('reports a COMMIT whose connection died as of unknown outcome, never as done or retryable', async () => {
    await createSlowCommitTable(store.db, 'slow_commit');
    const pending = store.db
      .transaction()
      .execute(async (trx) => {
        await sql`INSERT INTO slow_commit VALUES (1)`.execute(trx);
      })
      .catch((e: unknown) => e);
    await terminate(await runningBackend('commit'));
    const thrown = await pending;
    expect(thrown).toBeInstanceOf(CommitOutcomeUnknown);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM slow_commit`.execute(store.db);
    expect(rows[0].n).toBe(0); // terminated before the commit finished: here it did not commit
  });
});
