// List latency over a large account: p50/p95/p99 of filtered, sorted, paginated
// GET /api/v1/subscribers, 200 sequential requests per query, on the database that
// bench/marketing-import.ts filled (share it through BENCH_DATA_DIR so the import runs once; when
// the dir is empty, this bench imports the rows first). Then EXPLAIN QUERY PLAN (better-sqlite3,
// read-only, after the server has stopped) for the slowest query's page and COUNT statements,
// with each timed on its own to show whether the COUNT dominates.
//
//   BENCH_DATA_DIR=/tmp/mkt-1m node bin/run-ts.mjs bench/marketing-import.ts
//   BENCH_DATA_DIR=/tmp/mkt-1m node bin/run-ts.mjs bench/marketing-list.ts [--requests 200]
import path from 'node:path';
import fs from 'node:fs';
import SQLite from 'better-sqlite3';
import { startMarketingServer, subscriberTotal, percentile } from './lib/marketing-server.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { readOptions, positiveInt } from './lib/options.ts';
import { appendResult, printTable, round } from './lib/results.ts';
import { listQueries, captureStatements } from './lib/marketing-list-queries.ts';

const TARGET_P95_MS = 100;

const opts = readOptions({
  requests: { env: 'BENCH_REQUESTS', default: '200' },
  dataDir: { env: 'BENCH_DATA_DIR', default: '' },
  perQuerySeconds: { env: 'BENCH_PER_QUERY_SECONDS', default: '15' },
  // http: only the HTTP latencies; explain: only the plans and statement timings; all: both.
  phase: { env: 'BENCH_PHASE', default: 'all' },
});
if (!['all', 'http', 'explain'].includes(opts.phase)) throw new Error('--phase must be all, http or explain');
const perQuerySeconds = positiveInt(opts.perQuerySeconds, 'per-query-seconds');
const requests = positiveInt(opts.requests, 'requests');
if (!opts.dataDir) throw new Error('set BENCH_DATA_DIR to the data dir bench/marketing-import.ts filled');
console.log(machineLine(describeMachine()));

const dataDir = path.resolve(opts.dataDir);
if (!fs.existsSync(path.join(dataDir, 'posthorn.db'))) {
  throw new Error(
    `${dataDir} has no database: run BENCH_DATA_DIR=${opts.dataDir} node bin/run-ts.mjs bench/marketing-import.ts first`,
  );
}

let slowest: { q: (typeof listQueries)[number]; p95: number } | null = null;
if (opts.phase !== 'explain') {
  const server = await startMarketingServer('list', dataDir);
  const rows: Array<Record<string, string | number>> = [];
  let total = 0;
  try {
    total = await subscriberTotal(server.client);
    console.log(`${total} subscribers in ${dataDir}; ${requests} sequential requests per query`);
    for (const q of listQueries) {
      // A few warm-up requests first: the first ones pay for the page cache, prepared statements and
      // the COUNT (the server remembers an exact total until the next write to subscribers). The
      // first one's time is reported as "cold ms": what a new filter costs.
      const cold = await server.client.get(q.path);
      for (let i = 0; i < 2; i++) await server.client.get(q.path);
      const ms: number[] = [];
      let last: any;
      // A slow query gets fewer samples (at least 10) so the whole run stays under 3 minutes.
      const until = performance.now() + perQuerySeconds * 1000;
      for (let i = 0; i < requests && (i < 10 || performance.now() < until); i++) {
        const res = await server.client.get(q.path);
        if (res.status !== 200) throw new Error(`${q.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
        ms.push(res.ms);
        last = res.body;
      }
      ms.sort((a, b) => a - b);
      const p95 = percentile(ms, 95);
      const row = {
        query: q.name,
        'cold ms': round(cold.ms, 1),
        p50: round(percentile(ms, 50), 1),
        p95: round(p95, 1),
        p99: round(percentile(ms, 99), 1),
        max: round(ms[ms.length - 1]!, 1),
        n: ms.length,
        'target p95<100': p95 < TARGET_P95_MS ? 'met' : 'MISSED',
        total: last.meta.pagination.total,
        count: last.meta.pagination.count,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      if (!slowest || p95 > slowest.p95) slowest = { q, p95 };
    }
  } finally {
    server.client.close();
    await server.stop();
  }
  printTable(rows);
  appendResult('marketing-list', {
    at: new Date().toISOString(),
    machine: describeMachine(),
    settings: server.settings,
    subscribers: total,
    requests,
    rows,
  });
}

// The plans and the cost of page vs COUNT, measured straight on the file (server stopped), for
// every query: which statement dominates shows in the medians.
if (opts.phase !== 'http') {
  const dbFile = path.join(dataDir, 'posthorn.db');
  const db = new SQLite(dbFile, { readonly: true });
  const plans: Array<Record<string, string | number>> = [];
  for (const q of listQueries) {
    for (const st of await captureStatements(dbFile, q)) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${st.sql}`).all(...(st.params as unknown[])) as Array<{
        detail: string;
      }>;
      const stmt = db.prepare(st.sql);
      stmt.all(...(st.params as unknown[]));
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        stmt.all(...(st.params as unknown[]));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      plans.push({
        statement: st.name,
        'median ms': round(percentile(times, 50), 1),
        plan: plan.map((p) => p.detail).join(' / '),
      });
      if (q === slowest?.q)
        console.log(
          `\nslowest query (${q.name}, HTTP p95 ${round(slowest.p95, 1)} ms) ${st.name.split(': ')[1]}:\n  ${st.sql}\n  params ${JSON.stringify(st.params)}`,
        );
    }
  }
  db.close();
  printTable(plans);
  appendResult('marketing-list', { at: new Date().toISOString(), explain: plans });
}
