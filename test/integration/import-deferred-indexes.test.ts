// A big CSV import on SQLite writes its rows without the 15 list-filter indexes and builds them at
// its end (src/services/subscriber-import.ts, deferIndexes). Checked here: the indexes really are
// gone while such an import runs, and afterwards exist again exactly as the migrations made them,
// with their planner statistics; lists answer the same; an import is not deferred when another
// account has more than 10,000 live subscribers (their lists would lose their indexes) or when it
// is small; indexes found missing (a crashed import) are rebuilt by the next import, and by the
// import runner of a freshly started process that finds no job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { openStore } from '../../src/store/db.ts';
import { dropFilterIndexes, missingFilterIndexes } from '../../src/store/subscriber-import.ts';

const BIG = 60_000;

async function importCsv(api: ApiClient, csv: string): Promise<number> {
  const res = await api.request('POST', '/api/v1/subscribers/import', {
    rawBody: csv,
    headers: { 'content-type': 'text/csv' },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.data.id as number;
}

function csvOf(prefix: string, rows: number): string {
  const lines = ['email,firstname,lastname,city,street'];
  for (let i = 0; i < rows; i++)
    lines.push(`${prefix}${i}@example.com,First${i},Last ${i},${i % 4 ? 'Hamburg' : 'Berlin'},Long Street ${i}`);
  return lines.join('\n') + '\n';
}

describe.runIf(dialectName === 'sqlite')('a big CSV import defers the filter indexes (sqlite)', () => {
  let server: TestServer;
  const db = () => server.app.ctx.db;

  /** The subscribers table's indexes (name → whitespace-normalised SQL) and its planner statistics. */
  async function indexState() {
    const indexes = await sql<{ name: string; sql: string | null }>`SELECT name, sql FROM sqlite_schema
      WHERE type = 'index' AND tbl_name = 'subscribers' ORDER BY name`.execute(db());
    const stats = await sql<{ idx: string | null; stat: string }>`SELECT idx, stat FROM sqlite_stat1
      WHERE tbl = 'subscribers' ORDER BY idx`.execute(db());
    return {
      indexes: Object.fromEntries(indexes.rows.map((r) => [r.name, (r.sql ?? '').replace(/\s+/g, ' ')])),
      stats: stats.rows,
    };
  }

  /** Runs the import to its end, noting whether the city index was ever missing meanwhile. */
  async function runWatched(api: ApiClient, csv: string) {
    const id = await importCsv(api, csv);
    let sawMissing = false;
    const job = await waitFor(
      async () => {
        const state = await indexState();
        if (!state.indexes.subscribers_live_city) sawMissing = true;
        const res = await api.get(`/api/v1/jobs/${id}`);
        return ['completed', 'failed'].includes(res.body.data.status) ? res.body.data : null;
      },
      120_000,
      `import job ${id}`,
    );
    return { job, sawMissing };
  }

  async function total(api: ApiClient, search: unknown[]): Promise<number> {
    const res = await api.get(`/api/v1/subscribers?limit=1&search=${encodeURIComponent(JSON.stringify(search))}`);
    expect(res.status, res.text).toBe(200);
    return res.body.meta.pagination.total as number;
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('builds them at the end, as the migrations made them, with statistics', { timeout: 180_000 }, async () => {
    const before = await indexState();
    expect(Object.keys(before.indexes)).toHaveLength(17);
    for (let i = 0; i < 2; i++) {
      const res = await server.api.post('/api/v1/subscribers', { email: `early${i}@example.com`, city: 'Berlin' });
      expect(res.status, res.text).toBe(201);
    }
    const csv = csvOf('big', BIG);
    expect(Buffer.byteLength(csv) / 64).toBeGreaterThanOrEqual(50_000); // big enough to defer

    const { job, sawMissing } = await runWatched(server.api, csv);
    expect(job).toMatchObject({ status: 'completed', processed: BIG, created: BIG, failed: 0 });
    expect(sawMissing).toBe(true);
    expect(await indexState()).toEqual(before);
    expect(await total(server.api, [{ city: 'Berlin' }])).toBe(BIG / 4 + 2);
    expect(await total(server.api, [{ firstname: 'First59999' }])).toBe(1);
  });

  it('is not done for a small import', { timeout: 60_000 }, async () => {
    const { job, sawMissing } = await runWatched(server.api, csvOf('small', 2000));
    expect(job).toMatchObject({ status: 'completed', created: 2000 });
    expect(sawMissing).toBe(false);
  });

  it('is not done while another account has more than 10,000 live subscribers', { timeout: 180_000 }, async () => {
    const other = await server.newAccount();
    // The first account (62,002 live subscribers) is the other account here.
    const { job, sawMissing } = await runWatched(other.api, csvOf('other', BIG));
    expect(job).toMatchObject({ status: 'completed', created: BIG });
    expect(sawMissing).toBe(false);
  });

  it('rebuilds indexes a crashed import left missing at the end of the next import', { timeout: 60_000 }, async () => {
    const before = await indexState();
    await dropFilterIndexes(db());
    expect(Object.keys((await indexState()).indexes)).toHaveLength(2);
    const { job } = await runWatched(server.api, csvOf('after', 10));
    expect(job).toMatchObject({ status: 'completed', created: 10 });
    expect(await indexState()).toEqual(before);
  });
});

describe.runIf(dialectName === 'sqlite')('filter indexes left missing by a crash (sqlite)', () => {
  let db: TestDatabase | undefined;
  let child: ChildServer | undefined;
  afterAll(async () => {
    await child?.kill();
    await db?.drop();
  });

  /** The filter indexes missing from the database file, read through a store of its own. */
  async function missing(url: string): Promise<string[]> {
    const store = await openStore(url);
    try {
      return await missingFilterIndexes(store.db);
    } finally {
      await store.close();
    }
  }

  it('are rebuilt by the import runner of the next start', { timeout: 120_000 }, async () => {
    db = await createTestDatabase();
    const store = await openStore(db.url); // migrates, as the crashed process had
    await dropFilterIndexes(store.db);
    await store.close();
    expect(await missing(db.url)).toHaveLength(15);
    child = await startChildServer({ DATABASE_URL: db.url, POSTHORN_DATA_DIR: db.dataDir }, { timeoutMs: 90_000 });
    await waitFor(async () => (await missing(db!.url)).length === 0 || null, 30_000, 'the rebuilt indexes');
  });
});
