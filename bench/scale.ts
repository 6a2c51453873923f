// Scale-out on one PostgreSQL: several API processes (POSTHORN_API_PROCESSES, node:cluster) accepting
// transmissions, and 1, 2, 4 worker processes (`posthorn start --role worker`) sharing the outbox
// through SKIP LOCKED claims. For each run: throughput, and what a message costs in total — the CPU
// of every Posthorn process plus the PostgreSQL processes serving the database, the WAL bytes and
// the commits per message — the figures BENCHMARKS.md extrapolates to a cluster from.
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:scale
//   npm run bench:scale -- --apiProcesses 1,2 --workers 1,2,4 --duration 10 --messages 10000
//
// Latency-bound delivery (a remote server that takes --sinkDelayMs per message, --relayConnections
// per worker), where a worker's capacity is its connections rather than CPU; accept skipped:
//   npm run bench:scale -- --apiProcesses none --sinkDelayMs 50 --relayConnections 8 --messages 4000
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/bench-database.ts';
import { loadAverage, startPosthornProcess, type PosthornProcess } from './lib/posthorn-process.ts';
import { startCountingSink, type CountingSink } from './lib/counting-sink.ts';
import { loadTransmissions, NO_RATE_LIMITS, queueSignedMessages } from './lib/transmission-load.ts';
import { codeVersion, describeMachine, machineBusySeconds, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round } from './lib/results.ts';
import { pgDelta, pgSnapshot, treeCpuSeconds } from './lib/process-tree.ts';

const opts = readOptions({
  apiProcesses: { env: 'BENCH_API_PROCESSES', default: '1,2' },
  workers: { env: 'BENCH_WORKERS', default: '1,2,4' },
  duration: { env: 'BENCH_DURATION', default: '15' },
  connections: { env: 'BENCH_CONNECTIONS', default: '64' },
  messages: { env: 'BENCH_MESSAGES', default: '20000' },
  sinkDelayMs: { env: 'BENCH_SINK_DELAY_MS', default: '0' },
  /** POSTHORN_RELAY_CONNECTIONS of each worker; empty: Posthorn's default. */
  relayConnections: { env: 'BENCH_RELAY_CONNECTIONS', default: '' },
  timeout: { env: 'BENCH_TIMEOUT', default: '300' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
});
const pgBaseUrl = process.env.BENCH_DATABASE_URL;
if (!pgBaseUrl) {
  console.error('bench:scale needs PostgreSQL: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres');
  process.exit(2);
}
const list = (raw: string, name: string) =>
  raw === 'none' ? [] : raw.split(',').map((s) => positiveInt(s.trim(), name));
const apiCounts = list(opts.apiProcesses, 'apiProcesses');
const workerCounts = list(opts.workers, 'workers');
const duration = positiveInt(opts.duration, 'duration');
const connections = positiveInt(opts.connections, 'connections');
const total = positiveInt(opts.messages, 'messages');
const timeoutMs = positiveInt(opts.timeout, 'timeout') * 1000;
const sinkDelayMs = Number(opts.sinkDelayMs);
if (!Number.isInteger(sinkDelayMs) || sinkDelayMs < 0) throw new Error('--sinkDelayMs: a whole number ≥ 0');
const relayConnections = opts.relayConnections ? positiveInt(opts.relayConnections, 'relayConnections') : null;
const machine = describeMachine();
const dbName = (db: BenchDatabase) => new URL(db.url).pathname.slice(1);

interface Cost {
  posthornCpuMs: number;
  postgresCpuMs: number;
  totalCpuMs: number;
  walBytes: number;
  commits: number;
}

function perMessage(
  n: number,
  posthornCpu: number,
  pg: { cpuSeconds: number; walBytes: number; commits: number },
): Cost {
  const div = Math.max(1, n);
  return {
    posthornCpuMs: round((posthornCpu * 1000) / div, 3),
    postgresCpuMs: round((pg.cpuSeconds * 1000) / div, 3),
    totalCpuMs: round(((posthornCpu + pg.cpuSeconds) * 1000) / div, 3),
    walBytes: round(pg.walBytes / div),
    commits: round(pg.commits / div, 3),
  };
}

/** Accept: autocannon against `processes` API processes (one port) for `duration` seconds. */
async function acceptRun(processes: number) {
  const db = await createBenchDatabase('postgres', pgBaseUrl!);
  try {
    const server = await startPosthornProcess({
      env: { POSTHORN_DELIVERY: 'capture', POSTHORN_API_PROCESSES: String(processes), ...NO_RATE_LIMITS },
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'api',
      label: `scale-accept-${processes}-${Date.now()}`,
    });
    try {
      const { result: r, measured } = await loadTransmissions(server, { connections, duration }, async () => {
        const otherBefore = await waitForQuietMachine(Number(opts.quietWait));
        const load = loadAverage();
        const cpu0 = treeCpuSeconds(server.pid);
        const pg0 = await pgSnapshot(pgBaseUrl!, dbName(db));
        const machine0 = machineBusySeconds();
        return async () => ({
          otherBefore,
          load,
          cpu: treeCpuSeconds(server.pid) - cpu0,
          pg: pgDelta(pg0, await pgSnapshot(pgBaseUrl!, dbName(db))),
          busy: machineBusySeconds() - machine0,
        });
      });
      const { otherBefore, load, cpu, pg, busy } = measured;
      const accepted = r['2xx'];
      const record = {
        bench: 'scale',
        phase: 'accept',
        date: new Date().toISOString(),
        apiProcesses: processes,
        connections,
        seconds: r.duration,
        accepted,
        non2xx: r.non2xx,
        errors: r.errors,
        perSecond: round(accepted / r.duration),
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        posthornCores: round(cpu / r.duration, 2),
        postgresCores: round(pg.cpuSeconds / r.duration, 2),
        machineCores: round(busy / r.duration, 2),
        ...perMessage(accepted, cpu, pg),
        loadAverage: load,
        otherCoresBefore: otherBefore,
        machine,
        code: codeVersion(),
      };
      if (opts.save !== '0') appendResult('scale', record);
      return record;
    } finally {
      await server.stop();
    }
  } finally {
    await db.drop();
  }
}

async function countByStatus(db: BenchDatabase): Promise<Record<string, number>> {
  const store = await db.open();
  try {
    const rows = await store.db
      .selectFrom('messages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  } finally {
    await store.close();
  }
}

/** Queues `total` DKIM-signed messages (transmissions of 1,000) with an API process; no worker runs. */
async function queue(db: BenchDatabase, env: Record<string, string>): Promise<void> {
  const api = await startPosthornProcess({
    env,
    dataDir: db.dataDir,
    databaseUrl: db.url,
    role: 'api',
    label: `scale-queue-${Date.now()}`,
  });
  try {
    await queueSignedMessages(api, total);
  } finally {
    await api.stop();
  }
  const queued = (await countByStatus(db)).queued ?? 0;
  if (queued !== total) throw new Error(`expected ${total} queued messages, found ${queued}`);
}

/** Deliver: `workers` worker processes drain `total` queued messages to the sink. */
async function deliverRun(workers: number, sink: CountingSink) {
  const db = await createBenchDatabase('postgres', pgBaseUrl!);
  const env = {
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    ...(relayConnections ? { POSTHORN_RELAY_CONNECTIONS: String(relayConnections) } : {}),
    ...NO_RATE_LIMITS,
  };
  try {
    await queue(db, env);
    sink.reset();
    const otherBefore = await waitForQuietMachine(Number(opts.quietWait));
    const load = loadAverage();
    const started: PosthornProcess[] = [];
    try {
      // Started one after another, timed from the last one ready: the first may have begun already.
      for (let i = 0; i < workers; i++)
        started.push(
          await startPosthornProcess({
            env,
            dataDir: db.dataDir,
            databaseUrl: db.url,
            role: 'worker',
            label: `scale-worker-${workers}-${i}-${Date.now()}`,
          }),
        );
      const readyAt = Date.now();
      const sentBefore = sink.received;
      const cpu0 = started.map((w) => w.cpuSeconds());
      const pg0 = await pgSnapshot(pgBaseUrl!, dbName(db));
      const machine0 = machineBusySeconds();
      const bench0 = process.cpuUsage();
      const completed = await sink.waitFor(total, timeoutMs).then(
        () => true,
        () => false,
      );
      const window = ((completed ? sink.lastAt! : Date.now()) - readyAt) / 1000;
      const cpu = started.reduce((sum, w, i) => sum + (w.cpuSeconds() - cpu0[i]), 0);
      const pg = pgDelta(pg0, await pgSnapshot(pgBaseUrl!, dbName(db)));
      const busy = machineBusySeconds() - machine0;
      const benchCpu = process.cpuUsage(bench0);
      const delivered = sink.received - sentBefore;
      const record = {
        bench: 'scale',
        phase: 'deliver',
        date: new Date().toISOString(),
        workers,
        messages: total,
        sinkDelayMs,
        relayConnections,
        completed,
        deliveredInWindow: delivered,
        deliveredBeforeLastReady: sentBefore,
        seconds: round(window, 2),
        perSecond: round(delivered / window),
        dkimSigned: sink.dkimSigned,
        posthornCores: round(cpu / window, 2),
        postgresCores: round(pg.cpuSeconds / window, 2),
        sinkCores: round((benchCpu.user + benchCpu.system) / 1e6 / window, 2),
        machineCores: round(busy / window, 2),
        ...perMessage(delivered, cpu, pg),
        loadAverage: load,
        otherCoresBefore: otherBefore,
        machine,
        code: codeVersion(),
      };
      if (opts.save !== '0') appendResult('scale', record);
      return record;
    } finally {
      await Promise.all(started.map((w) => w.stop()));
    }
  } finally {
    await db.drop();
  }
}

console.log(`scale benchmark: ${machineLine(machine)}; PostgreSQL on the same machine`);
const acceptRows: Array<Record<string, string | number>> = [];
for (const processes of apiCounts) {
  console.log(`… accept, ${processes} API process(es), ${connections} connections, ${duration} s`);
  const r = await acceptRun(processes);
  acceptRows.push({
    'API processes': processes,
    'accepted/s': r.perSecond,
    'p99 ms': r.p99Ms,
    'non-2xx': r.non2xx,
    'Posthorn CPU/msg': `${r.posthornCpuMs} ms`,
    'PostgreSQL CPU/msg': `${r.postgresCpuMs} ms`,
    'total CPU/msg': `${r.totalCpuMs} ms`,
    'WAL/msg': `${r.walBytes} B`,
    'commits/msg': r.commits,
    'Posthorn cores': r.posthornCores,
    'PostgreSQL cores': r.postgresCores,
    'machine cores': r.machineCores,
    load: r.loadAverage,
  });
}
const deliverRows: Array<Record<string, string | number>> = [];
const sink = await startCountingSink({}, undefined, sinkDelayMs);
try {
  for (const workers of workerCounts) {
    console.log(`… deliver ${total} messages, ${workers} worker process(es)`);
    const r = await deliverRun(workers, sink);
    deliverRows.push({
      workers,
      'msg/s': r.perSecond,
      done: r.completed ? 'yes' : `TIMED OUT at ${r.deliveredInWindow + r.deliveredBeforeLastReady}`,
      'DKIM-signed': `${r.dkimSigned}/${total}`,
      'Posthorn CPU/msg': `${r.posthornCpuMs} ms`,
      'PostgreSQL CPU/msg': `${r.postgresCpuMs} ms`,
      'total CPU/msg': `${r.totalCpuMs} ms`,
      'WAL/msg': `${r.walBytes} B`,
      'commits/msg': r.commits,
      'Posthorn cores': r.posthornCores,
      'PostgreSQL cores': r.postgresCores,
      'sink cores': r.sinkCores,
      'machine cores': r.machineCores,
      load: r.loadAverage,
    });
  }
} finally {
  await sink.close();
}
if (acceptRows.length > 0) {
  console.log('\nAccept (POST /v1/layang/transmissions, one recipient, durable):');
  printTable(acceptRows);
}
const sinkNote = sinkDelayMs > 0 ? `, the sink replying after ${sinkDelayMs} ms` : '';
const connectionsNote = relayConnections ? `, ${relayConnections} relay connections per worker` : '';
console.log(`\nDeliver (relay to a counting sink, DKIM-signed, RSA-2048${sinkNote}${connectionsNote}):`);
printTable(deliverRows);
