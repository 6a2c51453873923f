// Accept throughput: POST /v1/layang/transmissions at 64 concurrent connections for a fixed time
// against Posthorn in a child process on a fresh database, then a durability check: every
// transmission answered 200 must be in the database after the server is killed with SIGKILL.
//
//   npm run bench:accept [-- --duration 20 --connections 64 --role api,all --stores sqlite,postgres --profile 1]
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:accept
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { readOptions, positiveInt, flag } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type StoreKind } from './lib/bench-database.ts';
import { loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { singleRecipientBody, HTML_BYTES } from './lib/payload.ts';
import { codeVersion, describeMachine, machineBusySeconds, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round, RESULTS_DIR } from './lib/results.ts';
import { printProfileSummary } from './lib/cpu-profile.ts';
import { startSampler } from './lib/sampler.ts';

const opts = readOptions({
  duration: { env: 'BENCH_DURATION', default: '20' },
  warmup: { env: 'BENCH_WARMUP', default: '3' },
  connections: { env: 'BENCH_CONNECTIONS', default: '64' },
  role: { env: 'BENCH_ROLE', default: 'api' },
  stores: { env: 'BENCH_STORES', default: '' },
  profile: { env: 'BENCH_PROFILE', default: '0' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
});
const duration = positiveInt(opts.duration, 'duration');
const warmup = Number(opts.warmup);
const connections = positiveInt(opts.connections, 'connections');
const roles = opts.role.split(',').map((r) => r.trim()) as Array<'api' | 'all'>;
for (const r of roles)
  if (r !== 'api' && r !== 'all') throw new Error(`--role must be api, all or both (api,all), got "${r}"`);
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const profile = flag(opts.profile);
const machine = describeMachine();
const body = singleRecipientBody();
const TRANSMISSION_ID = /"transmissionId":"([^"]+)"/;

interface Row {
  store: string;
  role: string;
  'req/s': number;
  p50: string;
  p90: string;
  p99: string;
  max: string;
  '2xx': number;
  non2xx: number;
  errors: number;
  'server CPU/req': string;
  'server cores': number;
  'load gen cores': number;
  'other cores': number;
  'quiet seconds: req/s': string;
  'in DB': number;
  durable: string;
}

async function load(
  url: string,
  key: string,
  seconds: number,
  acknowledged: Set<string>,
  counter = { ok: 0 },
): Promise<Result> {
  return autocannon({
    url: `${url}/v1/layang/transmissions`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
        onResponse: (status, text) => {
          if (status !== 200) return;
          counter.ok++;
          const m = TRANSMISSION_ID.exec(text);
          if (m) acknowledged.add(m[1]!);
        },
      },
    ],
  });
}

async function runOnce(store: StoreKind, role: 'api' | 'all'): Promise<Row> {
  const db = await createBenchDatabase(store, pgBaseUrl);
  const label = `accept-${store}-${role}-${Date.now()}`;
  const server = await startPosthornProcess({
    // The /v1 limits per key would cap one key's throughput; this measures the server, not them.
    env: { POSTHORN_DELIVERY: 'capture', POSTHORN_V1_RATE_PER_SECOND: '0', POSTHORN_V1_RATE_PER_MINUTE: '0' },
    dataDir: db.dataDir,
    databaseUrl: db.url,
    role,
    label,
    cpuProfileDir: profile ? path.join(RESULTS_DIR, 'profiles', label) : undefined,
  });
  try {
    if (!server.url || !server.key) throw new Error(`Posthorn did not print a URL and key; see ${server.logFile}`);
    const probe = await fetch(`${server.url}/v1/layang/transmissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
      body,
    });
    if (probe.status !== 200) throw new Error(`a single accept answered ${probe.status}: ${await probe.text()}`);

    const acknowledged = new Set<string>([TRANSMISSION_ID.exec(await probe.text())?.[1] ?? '']);
    let sent = 1;
    let answered = 1;
    if (warmup > 0) {
      const w = await load(server.url, server.key, warmup, acknowledged);
      sent += w.requests.sent ?? 0;
      answered += w['1xx'] + w['2xx'] + w['3xx'] + w['4xx'] + w['5xx'];
    }
    const busyBefore = await waitForQuietMachine(Number(opts.quietWait));
    const loadBefore = loadAverage();
    const machine0 = machineBusySeconds();
    const serverCpu0 = server.cpuSeconds();
    const benchCpu0 = process.cpuUsage();
    const counter = { ok: 0 };
    const sampler = startSampler(server.pid, () => counter.ok);
    const r = await load(server.url, server.key, duration, acknowledged, counter);
    const sampled = sampler.stop();
    const serverCpu = server.cpuSeconds() - serverCpu0;
    const benchCpuUs = process.cpuUsage(benchCpu0);
    const benchCpu = (benchCpuUs.user + benchCpuUs.system) / 1e6;
    // CPU that neither Posthorn nor the load generator used: other people's work on this machine.
    const otherCores = (machineBusySeconds() - machine0 - serverCpu - benchCpu) / r.duration;
    sent += r.requests.sent ?? 0;
    answered += r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];

    // Profiling needs a clean exit to write the profile; otherwise kill hard, so the check below
    // sees only what was committed before each 200 went out.
    if (profile) await server.stop();
    else await server.kill();

    const check = await db.open();
    let inDb: number;
    let missing = 0;
    let messageStatuses: Record<string, number> = {};
    try {
      // With role all: how far the worker got with the accepted messages by the end.
      const statuses = await check.db
        .selectFrom('messages')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      messageStatuses = Object.fromEntries(statuses.map((x) => [x.status, Number(x.n)]));
      const ids = await check.db.selectFrom('transmissions').select('id').execute();
      inDb = ids.length;
      const stored = new Set(ids.map((x) => x.id));
      for (const id of acknowledged) if (!stored.has(id)) missing++;
    } finally {
      await check.close();
    }
    // Requests still in flight when autocannon stopped may have committed without their answer being read.
    const unanswered = sent - answered;
    const extra = inDb - acknowledged.size;
    const durable = missing === 0 && extra >= 0 && extra <= unanswered;
    const rps = r['2xx'] / r.duration;
    const record = {
      bench: 'accept',
      date: new Date().toISOString(),
      store,
      role,
      delivery: 'capture',
      connections,
      durationS: r.duration,
      warmupS: warmup,
      bodyBytes: Buffer.byteLength(body),
      htmlBytes: HTML_BYTES,
      sqliteSynchronous: process.env.POSTHORN_SQLITE_SYNCHRONOUS ?? 'FULL',
      requestsPerSecond: round(rps),
      autocannonAverageRps: round(r.requests.average),
      latencyMs: {
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
        mean: round(r.latency.mean, 2),
      },
      status2xx: r['2xx'],
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      acknowledgedTotal: acknowledged.size,
      transmissionsInDb: inDb,
      acknowledgedMissingFromDb: missing,
      committedButUnanswered: extra,
      unansweredAtStop: unanswered,
      durable,
      messageStatuses,
      serverCpuSeconds: round(serverCpu, 2),
      serverCpuMsPerRequest: round((serverCpu * 1000) / Math.max(1, r['2xx']), 3),
      serverCoresBusy: round(serverCpu / r.duration, 2),
      loadGeneratorCoresBusy: round(benchCpu / r.duration, 2),
      loadAverageBefore: loadBefore,
      otherCoresBusyBefore: busyBefore,
      otherCoresBusyDuring: round(otherCores, 2),
      // The seconds in which other processes used < 0.25 cores: the figure a quiet machine gives.
      quietSeconds: sampled.quiet.seconds,
      quietRequestsPerSecond: sampled.quiet.rate,
      quietServerCores: sampled.quiet.serverCores,
      perSecond: sampled.perSecond,
      profile: server.cpuProfile(),
      machine,
      code: codeVersion(),
    };
    if (opts.save !== '0') appendResult('accept', record);
    if (record.profile) printProfileSummary(record.profile, 25);
    return {
      store,
      role,
      'req/s': round(rps),
      p50: `${r.latency.p50} ms`,
      p90: `${r.latency.p90} ms`,
      p99: `${r.latency.p99} ms`,
      max: `${r.latency.max} ms`,
      '2xx': r['2xx'],
      non2xx: r.non2xx,
      errors: r.errors,
      'server CPU/req': `${record.serverCpuMsPerRequest} ms`,
      'server cores': record.serverCoresBusy,
      'load gen cores': record.loadGeneratorCoresBusy,
      'other cores': record.otherCoresBusyDuring,
      'quiet seconds: req/s': sampled.quiet.seconds
        ? `${sampled.quiet.rate} (${Math.round(sampled.quiet.seconds)} s, server ${sampled.quiet.serverCores} cores)`
        : 'none',
      'in DB': inDb,
      durable: durable
        ? `yes (all ${acknowledged.size} acknowledged found${extra ? `; +${extra} committed, answer unread at stop` : ''})`
        : `NO: ${missing} acknowledged missing, ${extra} extra (unanswered ${unanswered})`,
    };
  } finally {
    await server.kill();
    await db.drop();
  }
}

console.log(`accept benchmark: ${machineLine(machine)}`);
console.log(
  `POST /v1/layang/transmissions, ${connections} connections, ${warmup} s warm-up + ${duration} s measured, body ${Buffer.byteLength(body)} bytes (HTML ${HTML_BYTES} bytes), capture delivery`,
);
const rows: Row[] = [];
for (const store of storesToRun(pgBaseUrl, opts.stores)) {
  for (const role of roles) {
    console.log(`… ${store}, role ${role}`);
    rows.push(await runOnce(store, role));
  }
}
console.log();
printTable(rows as unknown as Array<Record<string, string | number>>);
if (rows.some((r) => !r.durable.startsWith('yes'))) process.exitCode = 1;
