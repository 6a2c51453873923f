// PostgreSQL subscriber upsert, straight through the store (no HTTP): the unnest statement
// upsertSubscribers sends (one array per column) against the multi-row VALUES it sent before (500
// rows, 12,500 parameters per statement). Each path on a fresh database: B batches of 1,000 new
// rows, then the same rows again (updates), each batch in its own transaction.
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bin/run-ts.mjs bench/upsert-paths.ts [--batches 20]
import { CompiledQuery } from 'kysely';
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase } from './lib/bench-database.ts';
import { printTable, round } from './lib/results.ts';
import { insertAccount } from '../src/store/accounts.ts';
import { upsertSubscribers, type NewSubscriberRow } from '../src/store/subscribers.ts';
import type { Store } from '../src/store/db.ts';
import { INSERT_COLUMNS, UPSERT_TAIL } from '../src/store/subscribers.ts';

const opts = readOptions({ batches: { env: 'BENCH_BATCHES', default: '20' } });
const batches = positiveInt(opts.batches, 'batches');
const pgBaseUrl = process.env.BENCH_DATABASE_URL;
if (!pgBaseUrl) throw new Error('needs BENCH_DATABASE_URL (PostgreSQL)');

// The statement the VALUES path used, from the store's own column list and conflict clause.
const COLUMNS = INSERT_COLUMNS;
const TAIL = UPSERT_TAIL;

/** The previous path: multi-row VALUES, 500 rows per statement. */
async function valuesUpsert(store: Store, rows: NewSubscriberRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const params: unknown[] = [];
    let n = 0;
    const tuples = rows
      .slice(i, i + 500)
      .map((r) => '(' + COLUMNS.map((c) => (params.push(r[c] ?? null), `$${++n}`)).join(', ') + ')')
      .join(', ');
    await store.db.executeQuery(
      CompiledQuery.raw(
        `insert into subscribers (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${tuples} ${TAIL}`,
        params,
      ),
    );
  }
}

function rowsOf(batch: number, now: number): NewSubscriberRow[] {
  return Array.from({ length: 1000 }, (_, k) => {
    const i = batch * 1000 + k;
    return {
      account_id: 'bench',
      email: `s${i}@example.com`,
      status: 1,
      status_addition: null,
      gender_id: (i % 3) + 1,
      language_iso: i % 5 < 3 ? 'de' : 'en',
      title: null,
      firstname: `First${i % 20}`,
      lastname: `Last${i}`,
      company: null,
      street: `Street ${i}`,
      postcode: String(10000 + (i % 90000)),
      city: `City${i % 12}`,
      phone_number: null,
      birthday: null,
      opt_in_comment: null,
      opt_in_sent_at: null,
      opt_in_confirmed_at: null,
      opt_in_ip: null,
      reference: null,
      last_opened_at: null,
      last_clicked_at: null,
      deleted_at: null,
      created_at: now,
      updated_at: now,
    };
  });
}

async function run(path: 'unnest' | 'values') {
  const db = await createBenchDatabase('postgres', pgBaseUrl!);
  const store = await db.open();
  try {
    await insertAccount(store.db, { id: 'bench', name: 'bench', parent_id: null, status: 'Active', created_at: 1 });
    const out: Record<string, number> = {};
    for (const phase of ['insert', 'update'] as const) {
      const started = process.hrtime.bigint();
      for (let b = 0; b < batches; b++) {
        const rows = rowsOf(b, Date.now());
        await store.db.transaction().execute(async (trx) => {
          if (path === 'unnest') await upsertSubscribers(trx, rows);
          else await valuesUpsert({ ...store, db: trx }, rows);
        });
      }
      out[phase] = round((batches * 1000) / (Number(process.hrtime.bigint() - started) / 1e9));
    }
    return out;
  } finally {
    await store.close();
    await db.drop();
  }
}

const rows: Array<Record<string, string | number>> = [];
for (const path of ['values', 'unnest', 'values', 'unnest'] as const) {
  const r = await run(path);
  rows.push({ path, 'new rows/s': r.insert, 'updated rows/s': r.update });
}
printTable(rows);
