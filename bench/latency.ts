// Latency of one transmission on an idle server: a role-all Posthorn (`posthorn start`, a child
// process) relays to an in-process SMTP sink; single-recipient transmissions are sent one at a
// time, each after the previous one arrived. Reported: accept → arrival at the sink (from just
// before the POST to the end of DATA at the sink), the HTTP accept alone, and the rest (from the
// 200 to the arrival: the worker's part), p50/p95/p99/max.
// Target (issue 15): accept → arrival under 50 ms.
//
//   npm run bench:latency [-- --messages 200 --warmup 5 --gap 0 --stores sqlite,postgres --profile 1]
//   --gap: milliseconds to wait after an arrival before the next send (0: at once).
//   PostgreSQL runs too when BENCH_DATABASE_URL is set.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readOptions, positiveInt, flag } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type StoreKind } from './lib/bench-database.ts';
import { loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { startCountingSink } from './lib/counting-sink.ts';
import { substitutionData } from './lib/payload.ts';
import { codeVersion, describeMachine, machineLine } from './lib/machine.ts';
import { appendResult, printTable, round, RESULTS_DIR } from './lib/results.ts';
import { printProfileSummary } from './lib/cpu-profile.ts';

const opts = readOptions({
  messages: { env: 'BENCH_MESSAGES', default: '200' },
  warmup: { env: 'BENCH_WARMUP', default: '5' },
  gap: { env: 'BENCH_GAP_MS', default: '0' },
  stores: { env: 'BENCH_STORES', default: '' },
  save: { env: 'BENCH_SAVE', default: '1' },
  profile: { env: 'BENCH_PROFILE', default: '0' },
});
const messages = positiveInt(opts.messages, 'messages');
const warmup = Number(opts.warmup);
const gapMs = Number(opts.gap);
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();
/** One message that has not arrived after this long is a failure, not a slow sample. */
const ARRIVAL_TIMEOUT_MS = 10_000;

/** Arrival waiters by recipient address (each send has a recipient of its own). */
const waiting = new Map<string, (at: number) => void>();
const sink = await startCountingSink({}, (recipients) => {
  const at = performance.now();
  for (const r of recipients) waiting.get(r.toLowerCase())?.(at);
});

function body(i: number): string {
  return JSON.stringify({
    from: { email: 'orders@shop.bench.example', name: 'Bench Shop' },
    to: [{ email: `latency${i}@example.net` }],
    subject: 'Your order #{{orderId}} was received',
    bodyHtml: '<p>Thanks, {{firstName}}: order {{orderId}} is being prepared.</p>',
    substitutionData: substitutionData(i),
  });
}

function arrival(i: number): Promise<number> {
  const address = `latency${i}@example.net`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(address);
      reject(new Error(`message ${i} did not arrive within ${ARRIVAL_TIMEOUT_MS} ms`));
    }, ARRIVAL_TIMEOUT_MS);
    waiting.set(address, (at) => {
      clearTimeout(timer);
      waiting.delete(address);
      resolve(at);
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(samples: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(percentile(sorted, p), 1);
  return { p50: at(50), p95: at(95), p99: at(99), max: round(sorted[sorted.length - 1], 1) };
}

async function runOnce(store: StoreKind) {
  const db = await createBenchDatabase(store, pgBaseUrl);
  try {
    const label = `latency-${store}-${Date.now()}`;
    const server = await startPosthornProcess({
      env: { POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: sink.url, POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false' },
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'all',
      label,
      cpuProfileDir: flag(opts.profile) ? path.join(RESULTS_DIR, 'profiles', label) : undefined,
    });
    const accept: number[] = [];
    const toSink: number[] = [];
    const afterAccept: number[] = [];
    const loadBefore = loadAverage();
    let cpuSeconds = 0;
    try {
      if (!server.url || !server.key) throw new Error(`Posthorn did not print a URL and key; see ${server.logFile}`);
      let cpuAtStart = server.cpuSeconds();
      for (let i = 0; i < warmup + messages; i++) {
        if (i === warmup) cpuAtStart = server.cpuSeconds();
        const arrived = arrival(i);
        const sentAt = performance.now();
        const res = await fetch(`${server.url}/v1/layang/transmissions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
          body: body(i),
        });
        const acceptedAt = performance.now();
        if (res.status !== 200) throw new Error(`the transmission was answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        const arrivedAt = await arrived;
        if (i >= warmup) {
          accept.push(acceptedAt - sentAt);
          toSink.push(arrivedAt - sentAt);
          afterAccept.push(arrivedAt - acceptedAt);
        }
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      cpuSeconds = server.cpuSeconds() - cpuAtStart;
    } finally {
      await server.stop();
    }
    const record = {
      bench: 'latency',
      date: new Date().toISOString(),
      store,
      messages,
      warmup,
      gapMs,
      acceptMs: summary(accept),
      acceptToArrivalMs: summary(toSink),
      /** From the 200 to the arrival: the worker's part (wake, claim, build, relay). */
      answerToArrivalMs: summary(afterAccept),
      /** The server's CPU (all threads) per transmission, accept to outcome: what a loaded machine does not inflate. */
      serverCpuMsPerMessage: round((cpuSeconds * 1000) / messages, 2),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      machine,
      code: codeVersion(),
    };
    if (opts.save !== '0') appendResult('latency', record);
    const profile = server.cpuProfile();
    if (profile) printProfileSummary(profile, 30);
    return record;
  } finally {
    await db.drop();
  }
}

console.log(`latency benchmark: ${machineLine(machine)}`);
console.log(
  `${messages} single-recipient transmissions (after ${warmup} not counted), one at a time, each sent when the ` +
    `previous one arrived${gapMs ? ` and ${gapMs} ms passed` : ''}; role all, relay to an in-process SMTP sink`,
);
const rows: Array<Record<string, string | number>> = [];
let failed = false;
try {
  for (const store of storesToRun(pgBaseUrl, opts.stores)) {
    console.log(`… ${store}`);
    const r = await runOnce(store);
    const { acceptMs: a, acceptToArrivalMs: t, answerToArrivalMs: w } = r;
    failed ||= t.p50 >= 50;
    rows.push({
      store,
      'accept p50/p95/p99/max': `${a.p50} / ${a.p95} / ${a.p99} / ${a.max} ms`,
      'accept → sink p50/p95/p99/max': `${t.p50} / ${t.p95} / ${t.p99} / ${t.max} ms`,
      '200 → sink p50/p95/p99/max': `${w.p50} / ${w.p95} / ${w.p99} / ${w.max} ms`,
      'server CPU/msg': `${r.serverCpuMsPerMessage} ms`,
      'under 50 ms (p50)': t.p50 < 50 ? 'yes' : 'NO',
      load: `${r.loadAverageBefore} → ${r.loadAverageAfter}`,
    });
  }
} finally {
  await sink.close();
}
console.log();
printTable(rows);
if (failed) process.exitCode = 1;
