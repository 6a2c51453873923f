// Bulk upsert throughput: 100 requests of 1,000 new subscribers each (100,000 in all) to
// POST /api/v1/subscribers/bulk on a fresh Posthorn (child process, SQLite), once sequentially and
// once from 2 concurrent clients (a fresh database each), then checks the count.
//
//   node bin/run-ts.mjs bench/marketing-bulk.ts [--requests 100] [--batch 1000] [--modes 1,2]
//   BENCH_SQLITE_SYNCHRONOUS=NORMAL …   (the server's POSTHORN_SQLITE_SYNCHRONOUS; default FULL)
import { makeSubscriberFactory } from './lib/marketing-data.ts';
import { startMarketingServer, subscriberTotal, percentile } from './lib/marketing-server.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { readOptions, positiveInt } from './lib/options.ts';
import { appendResult, printTable, round } from './lib/results.ts';

const TARGET_PER_SECOND = 20_000;

const opts = readOptions({
  requests: { env: 'BENCH_REQUESTS', default: '100' },
  batch: { env: 'BENCH_BATCH', default: '1000' },
  modes: { env: 'BENCH_MODES', default: '1,2' },
  seed: { env: 'BENCH_SEED', default: '1' },
});
const requests = positiveInt(opts.requests, 'requests');
const batch = positiveInt(opts.batch, 'batch');
const concurrencies = opts.modes.split(',').map((m) => positiveInt(m.trim(), 'modes'));

// Bodies are made before the clock starts: the figure is the server's, not JSON.stringify's.
const make = makeSubscriberFactory(Number(opts.seed));
const bodies: string[] = [];
for (let r = 0; r < requests; r++) {
  const subscribers = Array.from({ length: batch }, (_, j) => make(r * batch + j));
  bodies.push(JSON.stringify({ subscribers }));
}
const expected = requests * batch;
console.log(`${machineLine(describeMachine())}`);
console.log(`${requests} requests × ${batch} subscribers; body ≈ ${round(bodies[0]!.length / 1024)} KiB`);

const rows: Array<Record<string, string | number>> = [];
for (const concurrency of concurrencies) {
  const server = await startMarketingServer(`bulk-c${concurrency}`);
  try {
    const latencies: number[] = [];
    let created = 0;
    let updated = 0;
    let failed = 0;
    let next = 0;
    const cpu0 = server.process.cpuSeconds();
    const t0 = performance.now();
    // Each client takes the next body until none is left.
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const res = await server.client.request('POST', '/api/v1/subscribers/bulk', body);
          if (res.status !== 200 && res.status !== 201 && res.status !== 207)
            throw new Error(`bulk answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
          latencies.push(res.ms);
          created += res.body.meta.created;
          updated += res.body.meta.updated;
          failed += res.body.meta.failed;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = server.process.cpuSeconds() - cpu0;
    const total = await subscriberTotal(server.client);
    latencies.sort((a, b) => a - b);
    const perSecond = expected / seconds;
    const row = {
      clients: concurrency,
      seconds: round(seconds, 2),
      'subscribers/s': Math.round(perSecond),
      'target ≥20k': perSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED',
      'req p50 ms': round(percentile(latencies, 50)),
      'req p95 ms': round(percentile(latencies, 95)),
      'server CPU s': round(serverCpu, 1),
      created,
      updated,
      failed,
      'total (GET)': total,
      'count ok': total === expected && created === expected ? 'yes' : 'NO',
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    appendResult('marketing-bulk', {
      at: new Date().toISOString(),
      machine: describeMachine(),
      settings: server.settings,
      requests,
      batch,
      ...row,
    });
  } finally {
    server.client.close();
    await server.stop();
  }
}
printTable(rows);
