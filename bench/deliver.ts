// Delivery throughput: N messages queued with the worker off, then a worker-only Posthorn relays
// them to an in-process counting SMTP sink; timed until the sink has counted N and until the
// database has recorded N deliveries. Every message must carry a DKIM-Signature.
//
//   npm run bench:deliver [-- --messages 20000 --sweep 64x500,256x500 --stores sqlite,postgres --profile 1]
//   --sweep takes CONCURRENCYxBATCH pairs (POSTHORN_WORKER_CONCURRENCY x POSTHORN_WORKER_BATCH).
import path from 'node:path';
import { readOptions, positiveInt, flag } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type BenchDatabase, type StoreKind } from './lib/bench-database.ts';
import { loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { startCountingSink, type CountingSink } from './lib/counting-sink.ts';
import { FROM_DOMAIN, manyRecipientsBody } from './lib/payload.ts';
import { codeVersion, describeMachine, machineBusySeconds, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round, RESULTS_DIR } from './lib/results.ts';
import { printProfileSummary } from './lib/cpu-profile.ts';
import { startSampler } from './lib/sampler.ts';
import { generateDkimKey } from '../src/domain/dkim-keys.ts';
import { insertDomainUnlessTaken } from '../src/store/domains.ts';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

const opts = readOptions({
  messages: { env: 'BENCH_MESSAGES', default: '20000' },
  recipients: { env: 'BENCH_RECIPIENTS', default: '1000' },
  sweep: { env: 'BENCH_SWEEP', default: '' },
  stores: { env: 'BENCH_STORES', default: '' },
  timeout: { env: 'BENCH_TIMEOUT', default: '170' },
  profile: { env: 'BENCH_PROFILE', default: '0' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
});
const total = positiveInt(opts.messages, 'messages');
const perTransmission = Math.min(positiveInt(opts.recipients, 'recipients'), total);
const timeoutMs = positiveInt(opts.timeout, 'timeout') * 1000;
const profile = flag(opts.profile);
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();

interface WorkerSettings {
  concurrency: string; // '' = Posthorn's default
  batch: string;
}

function parseSweep(raw: string): WorkerSettings[] {
  if (!raw.trim())
    return [
      { concurrency: process.env.POSTHORN_WORKER_CONCURRENCY ?? '', batch: process.env.POSTHORN_WORKER_BATCH ?? '' },
    ];
  return raw.split(',').map((pair) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(pair);
    if (!m) throw new Error(`--sweep takes CONCURRENCYxBATCH pairs like 64x500, got "${pair}"`);
    return { concurrency: m[1]!, batch: m[2]! };
  });
}

/** Adds the sending domain with a DKIM key: through the API when that route exists, else in the store. */
async function addSigningDomain(
  url: string,
  key: string,
  db: BenchDatabase,
): Promise<{ via: string; publicKey: string; selector: string }> {
  const res = await fetch(`${url}/v1/domain/sending`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ domain: FROM_DOMAIN, note: 'benchmark' }),
  });
  const store = await db.open();
  try {
    if (res.status === 200 || res.status === 201) {
      const row = await store.db
        .selectFrom('sending_domains')
        .select(['dkim_public_key', 'dkim_selector'])
        .where('domain', '=', FROM_DOMAIN)
        .executeTakeFirstOrThrow();
      return { via: 'POST /v1/domain/sending', publicKey: row.dkim_public_key, selector: row.dkim_selector };
    }
    const account = await store.db
      .selectFrom('api_keys')
      .select('account_id')
      .where('id', '=', key.split('.')[0]!)
      .executeTakeFirstOrThrow();
    const { privateKeyPem, publicKeyBase64 } = await generateDkimKey();
    await insertDomainUnlessTaken(store.db, {
      account_id: account.account_id,
      domain: FROM_DOMAIN,
      note: 'benchmark',
      dkim_selector: 'posthorn',
      dkim_private_key: privateKeyPem,
      dkim_public_key: publicKeyBase64,
      dkim_ed25519_selector: null,
      dkim_ed25519_private_key: null,
      dkim_ed25519_public_key: null,
      dkim_ed25519_verified: 0,
      spf_verified: 0,
      dkim_verified: 0,
      cname_verified: 0,
      dmarc_verified: 0,
      status: 'unverified',
      last_checked_at: null,
      created_at: Date.now(),
    });
    return {
      via: `sending_domains row (the API answered ${res.status})`,
      publicKey: publicKeyBase64,
      selector: 'posthorn',
    };
  } finally {
    await store.close();
  }
}

/** Accepts `total` recipients in transmissions of `perTransmission`, two requests at a time. */
async function queueMessages(url: string, key: string): Promise<number> {
  const started = Date.now();
  const firsts: number[] = [];
  for (let first = 0; first < total; first += perTransmission) firsts.push(first);
  const send = async (first: number) => {
    const res = await fetch(`${url}/v1/layang/transmissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: manyRecipientsBody(first, Math.min(perTransmission, total - first)),
    });
    if (res.status !== 200) throw new Error(`queueing answered ${res.status}: ${await res.text()}`);
  };
  for (let i = 0; i < firsts.length; i += 2) await Promise.all(firsts.slice(i, i + 2).map(send));
  return (Date.now() - started) / 1000;
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

async function verifySample(sample: Buffer | null, publicKey: string): Promise<string> {
  if (!sample) return 'no sample';
  const { results } = await dkimVerify(sample, { resolver: async () => [[`v=DKIM1; k=rsa; p=${publicKey}`]] });
  return (
    results.map((r) => r.status.result + (r.status.comment ? ` (${r.status.comment})` : '')).join(', ') ||
    'no signature'
  );
}

async function runOnce(store: StoreKind, settings: WorkerSettings, sink: CountingSink) {
  const db = await createBenchDatabase(store, pgBaseUrl);
  const label = `deliver-${store}-c${settings.concurrency || 'default'}-b${settings.batch || 'default'}-${Date.now()}`;
  const env: Record<string, string> = {
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    ...(settings.concurrency ? { POSTHORN_WORKER_CONCURRENCY: settings.concurrency } : {}),
    ...(settings.batch ? { POSTHORN_WORKER_BATCH: settings.batch } : {}),
  };
  try {
    const api = await startPosthornProcess({
      env,
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'api',
      label: `${label}-api`,
    });
    let domain: Awaited<ReturnType<typeof addSigningDomain>>;
    let queueSeconds: number;
    try {
      if (!api.url || !api.key) throw new Error(`Posthorn did not print a URL and key; see ${api.logFile}`);
      domain = await addSigningDomain(api.url, api.key, db);
      queueSeconds = await queueMessages(api.url, api.key);
    } finally {
      await api.stop();
    }
    const queued = (await countByStatus(db)).queued ?? 0;
    if (queued !== total) throw new Error(`expected ${total} queued messages, found ${queued}`);

    sink.reset();
    const busyBefore = await waitForQuietMachine(Number(opts.quietWait));
    const loadBefore = loadAverage();
    const spawnedAt = Date.now();
    const worker = await startPosthornProcess({
      env,
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'worker',
      label: `${label}-worker`,
      cpuProfileDir: profile ? path.join(RESULTS_DIR, 'profiles', label) : undefined,
    });
    // CPU is counted from the moment the worker is ready: its start (loading TypeScript) is not delivery work.
    const readyAt = Date.now();
    const machine0 = machineBusySeconds();
    const benchCpu0 = process.cpuUsage();
    const workerCpu0 = worker.cpuSeconds();
    const sampler = startSampler(worker.pid, () => sink.received);
    let sampled: ReturnType<ReturnType<typeof startSampler>['stop']>;
    let recordedAt: number;
    let statuses: Record<string, number>;
    let completed = false;
    let workerCpu: number;
    let machineBusy: number;
    let benchCpuUs: NodeJS.CpuUsage;
    try {
      // A run that cannot finish in time still reports how far it got (the rate so far).
      completed = await sink.waitFor(total, timeoutMs).then(
        () => true,
        () => false,
      );
      sampled = sampler.stop();
      workerCpu = worker.cpuSeconds() - workerCpu0;
      machineBusy = machineBusySeconds() - machine0;
      benchCpuUs = process.cpuUsage(benchCpu0);
      // The sink has everything; the outcomes are committed in small batches right after.
      for (;;) {
        statuses = await countByStatus(db);
        if (!completed || (statuses.delivered ?? 0) >= total || Date.now() - spawnedAt > timeoutMs + 30_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      recordedAt = Date.now();
    } finally {
      await worker.stop();
    }
    const received = sink.received;
    const doneAt = completed ? sink.lastAt! : Date.now();
    const window = (doneAt - readyAt) / 1000;
    const sinkCpu = (benchCpuUs!.user + benchCpuUs!.system) / 1e6;
    const record = {
      bench: 'deliver',
      date: new Date().toISOString(),
      store,
      messages: total,
      recipientsPerTransmission: perTransmission,
      workerConcurrency: settings.concurrency || 'default (64)',
      workerBatch: settings.batch || 'default (500)',
      sqliteSynchronous: process.env.POSTHORN_SQLITE_SYNCHRONOUS ?? 'FULL',
      domainAddedVia: domain.via,
      queueSeconds: round(queueSeconds, 2),
      queuedPerSecond: round(total / queueSeconds),
      workerStartupSeconds: round((readyAt - spawnedAt) / 1000, 2),
      secondsFromReadyToLast: round(window, 2),
      completed,
      messagesPerSecond: round(received / window),
      messagesPerSecondIncludingStartup: round(received / ((doneAt - spawnedAt) / 1000)),
      steadyMessagesPerSecond: sink.firstAt ? round((received - 1) / ((sink.lastAt! - sink.firstAt) / 1000)) : 0,
      secondsUntilAllRecorded: completed ? round((recordedAt - spawnedAt) / 1000, 2) : null,
      received,
      dkimSigned: sink.dkimSigned,
      sampleDkimVerify: await verifySample(sink.sample, domain.publicKey),
      averageMessageBytes: round(sink.bytes / Math.max(1, sink.received)),
      statuses: statuses!,
      workerCpuSeconds: round(workerCpu!, 2),
      workerCpuMsPerMessage: round((workerCpu! * 1000) / Math.max(1, received), 3),
      workerCoresBusy: round(workerCpu! / window, 2),
      sinkCoresBusy: round(sinkCpu / window, 2),
      loadAverageBefore: loadBefore,
      otherCoresBusyBefore: busyBefore,
      otherCoresBusyDuring: round((machineBusy! - workerCpu! - sinkCpu) / window, 2),
      // The seconds in which other processes used < 0.25 cores: the figure a quiet machine gives.
      quietSeconds: sampled!.quiet.seconds,
      quietMessagesPerSecond: sampled!.quiet.rate,
      quietWorkerCores: sampled!.quiet.serverCores,
      perSecond: sampled!.perSecond,
      profile: worker.cpuProfile(),
      machine,
      code: codeVersion(),
    };
    if (opts.save !== '0') appendResult('deliver', record);
    if (record.profile) printProfileSummary(record.profile, 25);
    return record;
  } finally {
    await db.drop();
  }
}

console.log(`deliver benchmark: ${machineLine(machine)}`);
console.log(
  `${total} messages in transmissions of ${perTransmission} recipients, relayed to a counting SMTP sink, DKIM-signed (RSA-2048)`,
);
const sink = await startCountingSink();
const rows: Array<Record<string, string | number>> = [];
let failed = false;
try {
  for (const store of storesToRun(pgBaseUrl, opts.stores)) {
    for (const settings of parseSweep(opts.sweep)) {
      console.log(`… ${store}, concurrency ${settings.concurrency || 'default'}, batch ${settings.batch || 'default'}`);
      const r = await runOnce(store, settings, sink);
      const ok =
        r.received === total &&
        r.dkimSigned === total &&
        (r.statuses.delivered ?? 0) === total &&
        r.sampleDkimVerify === 'pass';
      failed ||= !ok;
      rows.push({
        store,
        concurrency: r.workerConcurrency,
        batch: r.workerBatch,
        'msg/s': r.messagesPerSecond,
        'steady msg/s': r.steadyMessagesPerSecond,
        'incl. startup': r.messagesPerSecondIncludingStartup,
        'all recorded': r.completed ? `${r.secondsUntilAllRecorded} s` : `TIMED OUT at ${r.received}`,
        'worker CPU/msg': `${r.workerCpuMsPerMessage} ms`,
        'worker cores': r.workerCoresBusy,
        'sink cores': r.sinkCoresBusy,
        'DKIM-signed': `${r.dkimSigned}/${r.received}`,
        'sample verify': r.sampleDkimVerify,
        'queue (accept)': `${r.queuedPerSecond} msg/s`,
        'other cores': r.otherCoresBusyDuring,
        'quiet seconds: msg/s': r.quietSeconds
          ? `${r.quietMessagesPerSecond} (${Math.round(r.quietSeconds)} s, worker ${r.quietWorkerCores} cores)`
          : 'none',
        ok: ok ? 'yes' : 'NO',
      });
    }
  }
} finally {
  await sink.close();
}
console.log();
printTable(rows);
if (failed) process.exitCode = 1;
