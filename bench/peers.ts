// Posthorn next to Postfix on the same machine, the same messages and the same sink, side by side
// with the ratio. Two rows:
//
//   accept   smtp-source (-s 20 -m N -l 2048) submits N messages of the same size to each: Postfix's
//            smtpd puts them on its hold queue (written and fsynced, not delivered); Posthorn runs
//            role `smtp` (the submission server: accepted durably, not delivered).
//   deliver  what each accepted is then delivered to one counting SMTP sink (the benchmark's): Postfix
//            releases its hold queue (postsuper -H ALL, postqueue -f) and relays to the sink as its
//            relayhost; a Posthorn worker process (role worker) relays the queued messages to it.
//            Timed from the release / the worker ready until the sink has all N.
//
// and two rows of Posthorn's own work against the same Postfix figures (issue 15's table):
//
//   accept (HTTP)     autocannon, 64 connections, --httpSeconds on POST /v1/layang/transmissions
//                     (one recipient, 200 after the commit), role api.
//   deliver (DKIM)    N messages queued over HTTP for a sending domain with a key, then relayed
//                     DKIM-signed (RSA-2048) by a worker process to the same sink.
//
// Neither side signs with DKIM (the sender's domain has no key in Posthorn; Postfix has no signer),
// so the rows compare queueing and SMTP, not RSA. CPU per message counts every process of each
// side: Posthorn's process, and the Postfix master with every process it ran (reaped ones included).
//
//   npm run bench:peers [-- --messages 20000 --sessions 20 --length 2048 --stores sqlite,postgres]
//
// Needs Postfix (`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`) and root; without it
// the benchmark says so and prints Posthorn's figures alone.
import { execFileSync } from 'node:child_process';
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type BenchDatabase, type StoreKind } from './lib/bench-database.ts';
import { freePort, loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { postfixAvailable, startPostfix, waitForPort } from './lib/postfix-instance.ts';
import { startCountingSink, type CountingSink } from './lib/counting-sink.ts';
import { runSmtpSource } from './lib/smtp-source.ts';
import { loadTransmissions, NO_RATE_LIMITS, queueSignedMessages } from './lib/transmission-load.ts';
import { codeVersion, describeMachine, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round } from './lib/results.ts';

const opts = readOptions({
  messages: { env: 'BENCH_MESSAGES', default: '20000' },
  sessions: { env: 'BENCH_SESSIONS', default: '20' },
  length: { env: 'BENCH_LENGTH', default: '2048' },
  stores: { env: 'BENCH_STORES', default: '' },
  timeout: { env: 'BENCH_TIMEOUT', default: '300' },
  httpSeconds: { env: 'BENCH_HTTP_SECONDS', default: '15' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
});
const source = {
  messages: positiveInt(opts.messages, 'messages'),
  sessions: positiveInt(opts.sessions, 'sessions'),
  length: positiveInt(opts.length, 'length'),
};
const N = source.messages;
const httpSeconds = positiveInt(opts.httpSeconds, 'httpSeconds');
const timeoutMs = positiveInt(opts.timeout, 'timeout') * 1000;
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();

interface SideResult {
  side: string;
  acceptPerSecond: number;
  accepted: number;
  acceptCpuMs: number;
  deliverPerSecond: number;
  delivered: number;
  deliverCpuMs: number;
  completed: boolean;
  load: number;
  /** Posthorn only: the HTTP accept and the DKIM-signed delivery rows. */
  own?: OwnWork;
}

interface OwnWork {
  httpPerSecond: number;
  httpP99Ms: number;
  httpCpuMs: number;
  signedPerSecond: number;
  signedDelivered: number;
  signedSigned: number;
  signedCpuMs: number;
  signedCompleted: boolean;
}

/** Waits for the sink to count `n`, then returns the seconds from `from` to the last message. */
async function timeDelivery(sink: CountingSink, n: number, from: number): Promise<{ seconds: number; ok: boolean }> {
  const ok = await sink.waitFor(n, timeoutMs).then(
    () => true,
    () => false,
  );
  return { seconds: ((ok ? sink.lastAt! : Date.now()) - from) / 1000, ok };
}

async function postfixSide(sink: CountingSink): Promise<SideResult> {
  const port = await freePort();
  const sinkAddress = new URL(sink.url);
  // Held at accept like the submission benchmark; delivering services out of the chroot; the sink
  // as relayhost, without TLS (the sink offers none, and Posthorn's relay runs without it too).
  const postfix = startPostfix(port, {
    hold: false,
    mainCf: [
      'smtpd_client_restrictions = check_client_access static:HOLD',
      `relayhost = [${sinkAddress.hostname}]:${sinkAddress.port}`,
      'smtp_tls_security_level = none',
      'smtp_dns_support_level = disabled',
    ],
  });
  try {
    await waitForPort(port);
    await waitForQuietMachine(Number(opts.quietWait));
    const load = loadAverage();
    const cpu0 = postfix.cpuSeconds();
    const run = await runSmtpSource(port, source);
    const acceptCpu = postfix.cpuSeconds() - cpu0;
    const held = postfix.heldQueueIds().length;
    if (held !== run.accepted) throw new Error(`Postfix answered ${run.accepted} but holds ${held}`);
    sink.reset();
    const cpu1 = postfix.cpuSeconds();
    const releasedAt = Date.now();
    postfix.releaseHeld();
    const d = await timeDelivery(sink, held, releasedAt);
    const deliverCpu = postfix.cpuSeconds() - cpu1;
    return {
      side: 'Postfix',
      acceptPerSecond: round(run.accepted / run.seconds),
      accepted: run.accepted,
      acceptCpuMs: round((acceptCpu * 1000) / Math.max(1, run.accepted), 3),
      deliverPerSecond: round(sink.received / d.seconds),
      delivered: sink.received,
      deliverCpuMs: round((deliverCpu * 1000) / Math.max(1, sink.received), 3),
      completed: d.ok,
      load,
    };
  } finally {
    postfix.stop();
  }
}

async function posthornSide(store: StoreKind, sink: CountingSink): Promise<SideResult> {
  const db = await createBenchDatabase(store, pgBaseUrl);
  const smtpPort = await freePort();
  const env = {
    POSTHORN_SMTP_PORT: String(smtpPort),
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
  };
  try {
    // smtp-source cannot AUTH: its connections are authenticated by address, as Postfix's mynetworks.
    execFileSync(
      process.execPath,
      [
        'bin/posthorn.mjs',
        'keys',
        'create',
        '--name',
        'smtp-source',
        '--permissions',
        'send_smtp',
        '--allowed-ip',
        '127.0.0.1',
        '--smtp-ip-auth',
      ],
      { env: { ...process.env, ...env, POSTHORN_DATA_DIR: db.dataDir, DATABASE_URL: db.url }, stdio: 'pipe' },
    );
    const smtp = await startPosthornProcess({
      env,
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'smtp',
      label: `peers-smtp-${store}-${Date.now()}`,
    });
    let run: Awaited<ReturnType<typeof runSmtpSource>>;
    let acceptCpu: number;
    let load: number;
    try {
      await waitForPort(smtpPort);
      await waitForQuietMachine(Number(opts.quietWait));
      load = loadAverage();
      const cpu0 = smtp.cpuSeconds();
      run = await runSmtpSource(smtpPort, source);
      acceptCpu = smtp.cpuSeconds() - cpu0;
    } finally {
      await smtp.stop();
    }
    sink.reset();
    const worker = await startPosthornProcess({
      env: { ...env, POSTHORN_SMTP_PORT: '0' },
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'worker',
      label: `peers-worker-${store}-${Date.now()}`,
    });
    try {
      const readyAt = Date.now();
      const before = sink.received; // delivered while the worker was still starting
      const cpu0 = worker.cpuSeconds();
      const d = await timeDelivery(sink, run.accepted, readyAt);
      const deliverCpu = worker.cpuSeconds() - cpu0;
      const delivered = sink.received - before;
      return {
        side: `Posthorn (${store})`,
        acceptPerSecond: round(run.accepted / run.seconds),
        accepted: run.accepted,
        acceptCpuMs: round((acceptCpu * 1000) / Math.max(1, run.accepted), 3),
        deliverPerSecond: round(delivered / d.seconds),
        delivered: sink.received,
        deliverCpuMs: round((deliverCpu * 1000) / Math.max(1, delivered), 3),
        completed: d.ok,
        load,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await db.drop();
  }
}

/** Posthorn's HTTP accept and DKIM-signed delivery, each on a fresh database of `store`. */
async function posthornOwnWork(store: StoreKind, sink: CountingSink): Promise<OwnWork> {
  const env = {
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    POSTHORN_SMTP_PORT: '0',
    ...NO_RATE_LIMITS,
  };
  const start = (db: BenchDatabase, role: 'api' | 'worker', env: Record<string, string>) =>
    startPosthornProcess({ env, dataDir: db.dataDir, databaseUrl: db.url, role, label: `peers-${role}-${Date.now()}` });

  const acceptDb = await createBenchDatabase(store, pgBaseUrl);
  let http: { result: { duration: number; '2xx': number; latency: { p99: number } }; measured: number };
  try {
    const api = await start(acceptDb, 'api', { ...env, POSTHORN_DELIVERY: 'capture' });
    try {
      http = await loadTransmissions(api, { connections: 64, duration: httpSeconds }, async () => {
        await waitForQuietMachine(Number(opts.quietWait));
        const cpu0 = api.cpuSeconds();
        return async () => api.cpuSeconds() - cpu0;
      });
    } finally {
      await api.stop();
    }
  } finally {
    await acceptDb.drop();
  }

  const deliverDb = await createBenchDatabase(store, pgBaseUrl);
  try {
    const api = await start(deliverDb, 'api', env);
    try {
      await queueSignedMessages(api, N);
    } finally {
      await api.stop();
    }
    sink.reset();
    await waitForQuietMachine(Number(opts.quietWait));
    const worker = await start(deliverDb, 'worker', env);
    try {
      const readyAt = Date.now();
      const before = sink.received;
      const cpu0 = worker.cpuSeconds();
      const d = await timeDelivery(sink, N, readyAt);
      const delivered = sink.received - before;
      const accepted = http.result['2xx'];
      return {
        httpPerSecond: round(accepted / http.result.duration),
        httpP99Ms: http.result.latency.p99,
        httpCpuMs: round((http.measured * 1000) / Math.max(1, accepted), 3),
        signedPerSecond: round(delivered / d.seconds),
        signedDelivered: sink.received,
        signedSigned: sink.dkimSigned,
        signedCpuMs: round(((worker.cpuSeconds() - cpu0) * 1000) / Math.max(1, delivered), 3),
        signedCompleted: d.ok,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await deliverDb.drop();
  }
}

async function main(): Promise<void> {
  let haveSmtpSource = true;
  try {
    execFileSync('sh', ['-c', 'command -v smtp-source'], { stdio: 'pipe' });
  } catch {
    haveSmtpSource = false;
  }
  if (!haveSmtpSource)
    throw new Error(
      'smtp-source (Postfix) is the load generator: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix',
    );
  const withPostfix = postfixAvailable() && process.getuid?.() === 0;
  if (!withPostfix) console.warn('Postfix needs root here: Posthorn is measured alone, without the ratio');
  console.log(`smtp-source -s ${source.sessions} -m ${N} -l ${source.length}; ${machineLine(machine)}`);
  const sink = await startCountingSink();
  const sides: SideResult[] = [];
  try {
    if (withPostfix) sides.push(await postfixSide(sink));
    for (const store of storesToRun(pgBaseUrl, opts.stores)) {
      const side = await posthornSide(store, sink);
      side.own = await posthornOwnWork(store, sink);
      sides.push(side);
    }
  } finally {
    await sink.close();
  }
  const postfix = withPostfix ? sides[0] : null;
  const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) + '×' : '');
  const rows: Array<Record<string, string | number>> = [];
  /** One row; the ratios are to Postfix's figures of the same kind (none on Postfix's own rows). */
  const line = (
    row: string,
    s: SideResult,
    figures: { perSecond: number; cpuMs: number },
    postfixFigures: { perSecond: number; cpuMs: number } | null,
    count: string,
  ) => ({
    row,
    server: s.side,
    'msg/s': figures.perSecond,
    'CPU/msg': `${figures.cpuMs} ms`,
    'msg/s vs Postfix': s === postfix ? '1.00×' : ratio(figures.perSecond, postfixFigures?.perSecond),
    'CPU/msg vs Postfix': s === postfix ? '1.00×' : ratio(figures.cpuMs, postfixFigures?.cpuMs),
    count,
    load: s.load,
  });
  const accepted = (s: SideResult | null) => s && { perSecond: s.acceptPerSecond, cpuMs: s.acceptCpuMs };
  const delivered = (s: SideResult | null) => s && { perSecond: s.deliverPerSecond, cpuMs: s.deliverCpuMs };
  for (const s of sides)
    rows.push(line('accept (SMTP, durable)', s, accepted(s)!, accepted(postfix), `${s.accepted}/${N}`));
  for (const s of sides) {
    const count = `${s.completed ? '' : 'TIMED OUT at '}${s.delivered}/${s.accepted}`;
    rows.push(line('deliver (relay to the sink)', s, delivered(s)!, delivered(postfix), count));
  }
  for (const s of sides) {
    const own = s.own;
    if (!own) continue;
    const http = { perSecond: own.httpPerSecond, cpuMs: own.httpCpuMs };
    rows.push(line('accept (HTTP, durable)', s, http, accepted(postfix), `p99 ${own.httpP99Ms} ms`));
    const signed = { perSecond: own.signedPerSecond, cpuMs: own.signedCpuMs };
    const count = own.signedCompleted
      ? `${own.signedDelivered}/${N}, ${own.signedSigned} signed`
      : `TIMED OUT at ${own.signedDelivered}/${N}`;
    rows.push(line('deliver (DKIM-signed)', s, signed, delivered(postfix), count));
  }
  if (opts.save !== '0')
    appendResult('peers', {
      bench: 'peers',
      date: new Date().toISOString(),
      source,
      sides,
      machine,
      code: codeVersion(),
    });
  console.log();
  printTable(rows);
  const ownFailed = (s: SideResult) => s.own !== undefined && (!s.own.signedCompleted || s.own.signedSigned !== N);
  if (sides.some((s) => !s.completed || s.accepted !== N || ownFailed(s))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
