// Load shedding, with and without: 256 clients (autocannon) each send the next transmission as soon
// as the last one is answered, Retry-After or not, against Posthorn in a child process (role api,
// capture, /v1 rate limits off), once with shedding off and once per bound given. Reported: the
// answered transmissions per second and their latency percentiles (requests started in the warm-up,
// while all connections open at once, are not counted), and how many were shed (503).
//
//   npm run bench:shedding [-- --connections 256 --duration 10 --warmup 2 --bounds 0,32,128]
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:shedding
import autocannon, { type Result } from 'autocannon';
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type StoreKind } from './lib/bench-database.ts';
import { startPosthornProcess } from './lib/posthorn-process.ts';
import { singleRecipientBody } from './lib/payload.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { appendResult, printTable } from './lib/results.ts';

const opts = readOptions({
  connections: { env: 'BENCH_CONNECTIONS', default: '256' },
  duration: { env: 'BENCH_DURATION', default: '10' },
  warmup: { env: 'BENCH_WARMUP', default: '2' },
  bounds: { env: 'BENCH_SHED_BOUNDS', default: '0,32,128' },
  stores: { env: 'BENCH_STORES', default: '' },
});
const connections = positiveInt(opts.connections, 'connections');
const duration = positiveInt(opts.duration, 'duration');
const warmupMs = Number(opts.warmup) * 1000;
const bounds = opts.bounds.split(',').map((b) => Number(b.trim()));
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();
const body = singleRecipientBody();

async function runOnce(store: StoreKind, bound: number) {
  const db = await createBenchDatabase(store, pgBaseUrl);
  const server = await startPosthornProcess({
    env: {
      POSTHORN_DELIVERY: 'capture',
      POSTHORN_V1_RATE_PER_SECOND: '0',
      POSTHORN_V1_RATE_PER_MINUTE: '0',
      POSTHORN_SHED_MAX_IN_FLIGHT: String(bound),
    },
    dataDir: db.dataDir,
    databaseUrl: db.url,
    role: 'api',
    label: `shedding-${store}-${bound}-${Date.now()}`,
  });
  try {
    if (!server.url || !server.key) throw new Error(`Posthorn did not print a URL and key; see ${server.logFile}`);
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    const instance = autocannon({
      url: `${server.url}/v1/layang/transmissions`,
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body,
      connections,
      duration,
      timeout: 30,
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (Date.now() - ms - started < warmupMs) return;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) latencies.push(ms);
    });
    const result = await new Promise<Result>((resolve) => instance.on('done', resolve));
    latencies.sort((a, b) => a - b);
    const p = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return {
      store,
      'max in flight': bound || 'off',
      'answered/s': Math.round(latencies.length / (duration - warmupMs / 1000)),
      p50: p(0.5),
      p90: p(0.9),
      p99: p(0.99),
      max: Math.round(latencies.at(-1) ?? 0),
      shed: statuses.get(503) ?? 0,
      other: [...statuses].filter(([s]) => s !== 200 && s !== 503).reduce((n, [, c]) => n + c, 0) + result.errors,
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

console.log(machineLine(machine));
const rows = [];
for (const store of storesToRun(pgBaseUrl, opts.stores))
  for (const bound of bounds) {
    const row = await runOnce(store, bound);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
printTable(rows);
appendResult('load-shedding', { machine, connections, duration, warmupMs, rows });
