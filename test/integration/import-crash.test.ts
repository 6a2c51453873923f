// A CSV import survives a killed process: Posthorn runs as a child process, is killed with SIGKILL
// in the middle of an import, and started again on the same database. At the kill the database holds
// exactly the rows the job says it committed (rows and progress commit together); after the restart
// the job is taken over once its runner has been silent for a minute, continues from its last
// committed row, and completes with every row created once (none counted as an update, which a row
// written twice would be).
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { waitFor, type ApiClient } from '../helpers/server.ts';
import { openStore } from '../../src/store/db.ts';

/** PostgreSQL answers bigint columns as strings: compare numbers. */
const num = (v: unknown) => Number(v);

const ROWS = 60_000;

async function job(api: ApiClient, id: number) {
  const res = await api.get(`/api/v1/jobs/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.body.data;
}

/** Live subscribers and distinct emails among them, read straight from the store. */
async function storedRows(url: string): Promise<{ rows: number; emails: number }> {
  const store = await openStore(url);
  try {
    const r = await store.db
      .selectFrom('subscribers')
      .select((eb) => [eb.fn.countAll<number>().as('rows'), eb.fn.count<number>('email').distinct().as('emails')])
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { rows: num(r.rows), emails: num(r.emails) };
  } finally {
    await store.close();
  }
}

describe(`a CSV import across a killed process (${dialectName})`, () => {
  let db: TestDatabase | undefined;
  const children: ChildServer[] = [];
  afterAll(async () => {
    for (const c of children) await c.kill();
    await db?.drop();
  });

  it(`completes ${ROWS} rows exactly once after a SIGKILL mid-import`, { timeout: 300_000 }, async () => {
    db = await createTestDatabase();
    // The resumed job is polled for minutes: no per-key request limit in the way.
    const env = { DATABASE_URL: db.url, POSTHORN_DATA_DIR: db.dataDir, POSTHORN_RATE_LIMIT_PER_MINUTE: '0' };
    const first = await startChildServer(env, { timeoutMs: 90_000 });
    children.push(first);
    const key = first.firstKey!;
    const api = first.api(key);

    const lines = ['email,firstname,lastname,city'];
    for (let i = 0; i < ROWS; i++) lines.push(`crash${i}@example.com,First${i},Last ${i},Berlin`);
    const upload = await api.request('POST', '/api/v1/subscribers/import', {
      rawBody: lines.join('\n') + '\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(upload.status, upload.text).toBe(202);
    const id = upload.body.data.id as number;

    // Kill it once some batches are committed and well before the end.
    const before = await waitFor(
      async () => {
        const j = await job(api, id);
        return j.processed >= 2000 ? j : null;
      },
      120_000,
      'the first committed batches',
    );
    await first.kill();
    expect(before.status).toBe('running');
    expect(before.processed).toBeLessThan(ROWS);

    // What survived the kill is what the job recorded: its counters commit with its rows.
    const atKill = await storedRows(db.url);
    const recorded = await (async () => {
      const store = await openStore(db.url);
      try {
        return await store.db
          .selectFrom('jobs')
          .select(['processed', 'created', 'status'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
      } finally {
        await store.close();
      }
    })();
    expect(recorded.status).toBe('running');
    expect(recorded.processed).toBeGreaterThanOrEqual(before.processed);
    expect(recorded.processed).toBeLessThan(ROWS);
    expect(atKill.rows).toBe(recorded.created);
    expect(atKill.rows % 1000).toBe(0); // whole batches only

    const second = await startChildServer(env, { port: first.port, timeoutMs: 90_000 });
    children.push(second);
    const api2 = second.api(key);
    // The dead runner's job is taken over once it has been silent for STALE_AFTER_MS (a minute).
    const done = await waitFor(
      async () => {
        const j = await job(api2, id);
        return ['completed', 'failed'].includes(j.status) ? j : null;
      },
      200_000,
      'the resumed import',
    );
    expect(done).toMatchObject({
      status: 'completed',
      processed: ROWS,
      created: ROWS,
      updated: 0,
      failed: 0,
      errors: [],
    });
    expect(await storedRows(db.url)).toEqual({ rows: ROWS, emails: ROWS });
    const last = await api2.get(
      `/api/v1/subscribers?search=${encodeURIComponent(JSON.stringify([{ email: `crash${ROWS - 1}@example.com` }]))}`,
    );
    expect(last.body.data[0]).toMatchObject({ firstname: `First${ROWS - 1}`, lastname: `Last ${ROWS - 1}` });
  });
});
