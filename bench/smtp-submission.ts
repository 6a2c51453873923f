// SMTP submission throughput: Postfix's own load generator, smtp-source, against Posthorn's
// submission port and against Postfix's smtpd on this machine, in one run, with the same options
// (default `-s 20 -m 20000 -l 2048`: 20 sessions in parallel, one message of 2 KB per connection).
//
// Posthorn runs as role `smtp` (the submission server alone: accept, deliver nothing) and is
// killed with SIGKILL the moment smtp-source is done; every message smtp-source saw answered
// `250 … queued as <id>` must then be in the outbox. Postfix puts every message on its hold queue
// (written and fsynced, never delivered; see lib/postfix-instance.ts); every queue id it answered
// must be a file there. smtp-source cannot AUTH: Posthorn authenticates its connections with an
// SMTP-IP key (`keys create --smtp-ip-auth --allowed-ip 127.0.0.1`), as Postfix does by mynetworks.
//
//   npm run bench:smtp [-- --messages 20000 --sessions 20 --length 2048 --stores sqlite,postgres --processes 2]
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:smtp
//
// Needs Postfix (`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`) and root.
import { execFileSync } from 'node:child_process';
import { runSmtpSource as runSource, type SourceRun } from './lib/smtp-source.ts';
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type StoreKind } from './lib/bench-database.ts';
import { freePort, loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { postfixAvailable, startPostfix, waitForPort } from './lib/postfix-instance.ts';
import { codeVersion, describeMachine, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round } from './lib/results.ts';
import { printProfileSummary } from './lib/cpu-profile.ts';

const opts = readOptions({
  messages: { env: 'BENCH_MESSAGES', default: '20000' },
  sessions: { env: 'BENCH_SESSIONS', default: '20' },
  length: { env: 'BENCH_LENGTH', default: '2048' },
  stores: { env: 'BENCH_STORES', default: '' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
  /** Front processes (POSTHORN_API_PROCESSES): each runs a submission server on the shared port. */
  processes: { env: 'BENCH_PROCESSES', default: '1' },
  /** A directory: Posthorn runs under `node --cpu-prof` and its profile is summarised at the end. */
  profile: { env: 'BENCH_PROFILE', default: '' },
  /** 1: smtp-source runs with -v and every acknowledged id is looked up after the kill (see lib/smtp-source.ts). */
  ids: { env: 'BENCH_IDS', default: '0' },
});
const collectIds = opts.ids === '1';
const messages = positiveInt(opts.messages, 'messages');
const sessions = positiveInt(opts.sessions, 'sessions');
const length = positiveInt(opts.length, 'length');
const processes = positiveInt(opts.processes, 'processes');
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();
/** What every run records about itself (the smtp-source run, the machine before it). */
function runRecord(run: SourceRun, loadAverageBefore: number, otherCoresBusyBefore: number) {
  return {
    bench: 'smtp-submission',
    date: new Date().toISOString(),
    sessions,
    messages,
    length,
    seconds: round(run.seconds, 2),
    messagesPerSecond: round(run.accepted / run.seconds),
    accepted: run.accepted,
    idsChecked: run.ids !== null,
    smtpSourceExit: run.exitCode,
    smtpSourceErrors: run.errors,
    loadAverageBefore,
    otherCoresBusyBefore,
    machine,
  };
}

interface Row {
  server: string;
  store: string;
  'msg/s': number;
  seconds: number;
  accepted: number;
  'in store': number;
  durable: string;
  ratio: string;
  'CPU ms/msg': number | string;
}

async function runPosthorn(store: StoreKind): Promise<{ row: Row; record: Record<string, unknown> }> {
  const db = await createBenchDatabase(store, pgBaseUrl);
  const smtpPort = await freePort();
  const env = {
    POSTHORN_SMTP_PORT: String(smtpPort),
    POSTHORN_DELIVERY: 'capture',
    POSTHORN_API_PROCESSES: String(processes),
  };
  // The key smtp-source's connections are authenticated with, by their address.
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
  const server = await startPosthornProcess({
    env,
    dataDir: db.dataDir,
    databaseUrl: db.url,
    role: 'smtp',
    label: `smtp-submission-${store}-${Date.now()}`,
    cpuProfileDir: opts.profile || undefined,
  });
  try {
    await waitForPort(smtpPort);
    const busyBefore = await waitForQuietMachine(Number(opts.quietWait));
    const loadBefore = loadAverage();
    const cpu0 = server.cpuSeconds();
    const run = await runSource(smtpPort, { sessions, messages, length, ids: collectIds });
    const serverCpu = server.cpuSeconds() - cpu0;
    // At once, before anything else: whatever is in the store now was committed before the kill.
    // (A profiled run stops with SIGTERM instead, so that node writes the profile.)
    if (opts.profile) {
      await server.stop();
      const profile = server.cpuProfile();
      if (profile) printProfileSummary(profile, 30);
    } else await server.kill();
    const check = await db.open();
    let stored: Set<string>;
    let rows: number;
    try {
      stored = new Set((await check.db.selectFrom('transmissions').select('id').execute()).map((t) => t.id));
      const counted = await check.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      rows = Number(counted?.n ?? 0); // PostgreSQL answers a bigint as a string
    } finally {
      await check.close();
    }
    const missing = acknowledgedMissing(run, stored);
    const record = {
      ...runRecord(run, loadBefore, busyBefore),
      server: 'posthorn',
      store,
      processes,
      transmissionsInStore: stored.size,
      outboxRows: rows,
      acceptedMissingFromStore: missing,
      durable: missing === 0 && run.accepted === messages,
      serverCpuSeconds: round(serverCpu, 2),
      serverCpuMsPerMessage: round((serverCpu * 1000) / Math.max(1, run.accepted), 3),
      code: codeVersion(),
    };
    return {
      row: {
        server: `Posthorn (role smtp${processes > 1 ? `, ${processes} processes` : ''})`,
        store,
        'msg/s': record.messagesPerSecond,
        seconds: round(run.seconds, 1),
        accepted: run.accepted,
        'in store': stored.size,
        durable: record.durable ? 'yes' : `NO (${missing} missing)`,
        ratio: '',
        'CPU ms/msg': record.serverCpuMsPerMessage,
      },
      record,
    };
  } finally {
    await server.kill();
    await db.drop();
  }
}

/**
 * Acknowledged messages not found after the run: by id when smtp-source ran verbosely, else by count
 * (an exit of 0 acknowledged every message, and the server started empty).
 */
function acknowledgedMissing(run: SourceRun, found: Set<string>): number {
  if (run.ids) return run.ids.filter((id) => !found.has(id)).length;
  return Math.max(0, run.accepted - found.size);
}

async function runPostfix(): Promise<{ row: Row; record: Record<string, unknown> }> {
  const port = await freePort();
  const postfix = startPostfix(port);
  try {
    await waitForPort(port);
    const busyBefore = await waitForQuietMachine(Number(opts.quietWait));
    const loadBefore = loadAverage();
    const run = await runSource(port, { sessions, messages, length, ids: collectIds });
    const held = new Set(postfix.heldQueueIds());
    const missing = acknowledgedMissing(run, held);
    const record = {
      ...runRecord(run, loadBefore, busyBefore),
      server: 'postfix',
      postfixVersion: execFileSync('postconf', ['-h', 'mail_version']).toString().trim(),
      heldQueueFiles: held.size,
      acceptedMissingFromQueue: missing,
      durable: missing === 0 && run.accepted === messages,
    };
    return {
      row: {
        server: 'Postfix smtpd (hold queue)',
        store: 'queue files',
        'msg/s': record.messagesPerSecond,
        seconds: round(run.seconds, 1),
        accepted: run.accepted,
        'in store': held.size,
        durable: record.durable ? 'yes' : `NO (${missing} missing)`,
        ratio: '1.00',
        'CPU ms/msg': '',
      },
      record,
    };
  } finally {
    postfix.stop();
  }
}

async function main(): Promise<void> {
  try {
    execFileSync('sh', ['-c', 'command -v smtp-source'], { stdio: 'pipe' });
  } catch {
    throw new Error('smtp-source not found: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix');
  }
  if (!postfixAvailable())
    throw new Error('Postfix not found: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix');
  console.log(`smtp-source -s ${sessions} -m ${messages} -l ${length}; ${machineLine(machine)}`);
  const postfix = await runPostfix();
  const rows: Row[] = [postfix.row];
  const records = [postfix.record];
  for (const store of storesToRun(pgBaseUrl, opts.stores)) {
    const r = await runPosthorn(store);
    r.row.ratio = (r.row['msg/s'] / Math.max(1, postfix.row['msg/s'])).toFixed(2);
    r.record.ratioToPostfix = Number(r.row.ratio);
    rows.push(r.row);
    records.push(r.record);
  }
  if (opts.save !== '0') for (const record of records) appendResult('smtp-submission', record);
  printTable(rows as unknown as Array<Record<string, string | number>>);
  if (rows.some((r) => r.durable !== 'yes')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
