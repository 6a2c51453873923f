// Durable group commits on SQLite at synchronous=FULL: the batch commits at NORMAL and the WAL is
// flushed off the event loop before any request of the batch is answered. A flush that fails means
// no request of the batch is answered as done, with a storage fault (the surfaces answer 503).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/db.ts';
import { CommitBatcher } from '../../src/store/commit-batcher.ts';
import { durableTransactions, WalFlusher } from '../../src/store/wal-flush.ts';
import { storeFault } from '../../src/store/store-errors.ts';

const open: Store[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

async function sqliteStore(synchronous: 'FULL' | 'NORMAL'): Promise<{ store: Store; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-wal-'));
  const file = path.join(dir, 'posthorn.db');
  const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: synchronous });
  open.push(store);
  await sql`CREATE TABLE accepted (n integer PRIMARY KEY)`.execute(store.db);
  return { store, file };
}

const synchronousLevel = async (store: Store) =>
  Number((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(store.db)).rows[0].synchronous);
const count = async (store: Store) =>
  (await sql<{ n: number }>`SELECT count(*) AS n FROM accepted`.execute(store.db)).rows[0].n;

describe('durable group commits on SQLite', () => {
  it('answers every request of a batch once it is flushed, and leaves the connection at FULL', async () => {
    const { store } = await sqliteStore('FULL');
    const batcher = new CommitBatcher(store.db, { windowMs: 5, transact: store.durableTransactions });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        batcher.run(async (trx) => {
          await sql`INSERT INTO accepted VALUES (${n})`.execute(trx);
          return n;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(await count(store)).toBe(20);
    // Only the batch's own transaction ran at NORMAL: every other write still flushes at COMMIT.
    expect(await synchronousLevel(store)).toBe(2);
  });

  it('answers no request of a batch whose flush failed, with a storage fault', async () => {
    const { store } = await sqliteStore('FULL');
    const broken = new WalFlusher(path.join(os.tmpdir(), 'posthorn-no-such-dir', 'x.db-wal'));
    const batcher = new CommitBatcher(store.db, { windowMs: 5, transact: durableTransactions(store.db, broken) });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, n) => batcher.run((trx) => sql`INSERT INTO accepted VALUES (${n})`.execute(trx))),
    );
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    for (const o of outcomes) expect(storeFault((o as PromiseRejectedResult).reason)).toBe('storage');
    expect(await synchronousLevel(store)).toBe(2);
  });

  it('shares one flush among the callers that arrive while one runs', async () => {
    const { store, file } = await sqliteStore('FULL');
    await sql`INSERT INTO accepted VALUES (1)`.execute(store.db); // the WAL file exists from here
    const flusher = new WalFlusher(`${file}-wal`);
    const first = flusher.flush();
    const waiting = [flusher.flush(), flusher.flush(), flusher.flush()];
    // The running flush may have started before a later caller's commit: they share the next one.
    expect(waiting[0]).not.toBe(first);
    expect(new Set(waiting).size).toBe(1);
    await Promise.all([first, ...waiting]);
    await flusher.close();
  });

  it('commits at the configured level when that is NORMAL (nothing to flush)', async () => {
    const { store } = await sqliteStore('NORMAL');
    const { value, durable } = await store.durableTransactions(async (trx) => {
      await sql`INSERT INTO accepted VALUES (7)`.execute(trx);
      return 'ok';
    });
    await durable;
    expect(value).toBe('ok');
    expect(await synchronousLevel(store)).toBe(1);
  });
});
