// Group commit under a lost connection (PostgreSQL, POSTHORN_TEST_DATABASE_URL): a batch whose
// connection dies before COMMIT is run again as a whole, and every request in it succeeds once; a
// batch whose connection dies during COMMIT fails every request in it, none is reported as done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/db.ts';
import { CommitBatcher } from '../../src/store/commit-batcher.ts';
import { CommitOutcomeUnknown, storeFault } from '../../src/store/store-errors.ts';
import { createTestDatabase, pgBaseUrl, type TestDatabase } from '../helpers/database.ts';
import { waitFor } from '../helpers/server.ts';
import { createSlowCommitTable } from '../helpers/slow-commit.ts';

const BATCH = 8;

describe.skipIf(!pgBaseUrl)('group commit when the connection is lost', () => {
  let database: TestDatabase;
  let store: Store;
  let admin: pg.Client;

  const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);
  const count = async (table: string) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(store.db)).rows[0].n;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await openStore(database.url);
    admin = new pg.Client({ connectionString: pgBaseUrl! });
    await admin.connect();
    await sql`CREATE TABLE accepted (n integer PRIMARY KEY)`.execute(store.db);
    await createSlowCommitTable(store.db, 'slow_accepted');
  });
  afterAll(async () => {
    // Whatever beforeAll got to make.
    await (store as Store | undefined)?.close();
    await (admin as pg.Client | undefined)?.end();
    await (database as TestDatabase | undefined)?.drop();
  });

  it('runs a batch whose connection died before COMMIT again, and every request succeeds once', async () => {
    const batcher = new CommitBatcher(store.db, { windowMs: 20 });
    let terminated = false;
    const results = await Promise.all(
      Array.from({ length: BATCH }, (_, n) =>
        batcher.run(async (trx) => {
          await sql`INSERT INTO accepted VALUES (${n})`.execute(trx);
          if (n === BATCH - 1 && !terminated) {
            terminated = true;
            const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
            await terminate(rows[0].pid);
            await new Promise((r) => setTimeout(r, 100));
          }
          return n;
        }),
      ),
    );
    expect(terminated).toBe(true);
    expect(results).toEqual(Array.from({ length: BATCH }, (_, n) => n));
    expect(await count('accepted')).toBe(BATCH);
  });

  it('fails every request of a batch whose connection died during COMMIT; none is answered as done', async () => {
    const batcher = new CommitBatcher(store.db, { windowMs: 20 });
    const outcomes = Promise.allSettled(
      Array.from({ length: BATCH }, (_, n) =>
        batcher.run(async (trx) => {
          await sql`INSERT INTO slow_accepted VALUES (${n})`.execute(trx);
        }),
      ),
    );
    const pid = await waitFor(
      async () =>
        (
          await admin.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query ILIKE 'commit'",
            [new URL(database.url).pathname.slice(1)],
          )
        ).rows[0]?.pid as number | undefined,
      5000,
      'the COMMIT to run',
    );
    await terminate(pid);
    const settled = await outcomes;
    expect(settled.map((s) => s.status)).toEqual(Array(BATCH).fill('rejected'));
    for (const s of settled) {
      const reason = (s as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(CommitOutcomeUnknown);
      expect(storeFault(reason)).toBe('connection');
    }
    // Nobody ran the batch again: the rows are there at most once (here: not at all).
    expect(await count('slow_accepted')).toBe(0);
  });
});
