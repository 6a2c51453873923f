// The million-recipient mailing: one Posthorn process (role all: API, fan-out and delivery worker)
// sends a personalized, open- and click-tracked, DKIM-signed mailing to every subscriber of a
// channel, relayed to an in-process counting SMTP sink. Timed from POST /mailings/{id}/send until
// the sink has counted N messages and the mailing's status is "sent"; peak RSS of the server from
// /proc/<pid>/status (VmHWM), sampled every 500 ms with VmRSS.
//
//   npm run bench:mailing [-- --recipients 1000000 --store sqlite|postgres --timeout 420 --data-dir /tmp/mailing-bench]
//   --sink fast (default, bench/lib/fast-sink.ts on node:net) or smtp-server (bench/lib/mailing-sink.ts).
//   --data-dir keeps the seeded subscribers (minutes for a million) for later runs; each run works on
//   a copy. PostgreSQL needs BENCH_DATABASE_URL. POSTHORN_* variables are passed to the server;
//   --serverNodeOptions=--max-old-space-size=200 (with "=") sets NODE_OPTIONS for the server alone.
//   --seedOnly 1 --data-dir DIR makes the seed and stops (a million subscribers: ~3–6 min).
import { simpleParser } from 'mailparser';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readOptions, positiveInt, flag } from './lib/options.ts';
import { printProfileSummary } from './lib/cpu-profile.ts';
import { loadAverage, startPosthornProcess } from './lib/posthorn-process.ts';
import { ApiClient } from './lib/marketing-server.ts';
import { startMailingSink, type MailingSink } from './lib/mailing-sink.ts';
import { startFastSink } from './lib/fast-sink.ts';
import { readMemory, startMemorySampler } from './lib/memory-sampler.ts';
import { startSampler } from './lib/sampler.ts';
import { copySeed, dropSeed, ensureSeed, SENDER_EMAIL, type Seed } from './lib/mailing-seed.ts';
import { makeSubscriberFactory } from './lib/marketing-data.ts';
import { codeVersion, describeMachine, machineBusySeconds, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round, RESULTS_DIR } from './lib/results.ts';
import { openStore } from '../src/store/db.ts';
import type { StoreKind } from './lib/bench-database.ts';

const TARGET_SECONDS = 6 * 60;
const TARGET_RSS_MB = 300;

const opts = readOptions({
  recipients: { env: 'BENCH_RECIPIENTS', default: '1000000' },
  store: { env: 'BENCH_STORE', default: 'sqlite' },
  timeout: { env: 'BENCH_TIMEOUT', default: '420' },
  'data-dir': { env: 'BENCH_DATA_DIR', default: '' },
  seed: { env: 'BENCH_SEED', default: '1' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
  // NODE_OPTIONS for the server only (e.g. --max-old-space-size=200): V8's heap limit decides how lazily it collects.
  serverNodeOptions: { env: 'BENCH_SERVER_NODE_OPTIONS', default: '' },
  profile: { env: 'BENCH_PROFILE', default: '0' },
  // 1: only make (or check) the seed in --data-dir, so a later run's wall clock is the mailing alone.
  seedOnly: { env: 'BENCH_SEED_ONLY', default: '0' },
  // The sink's CPU comes off the two cores the server is measured on: `fast` needs about half of smtp-server's.
  sink: { env: 'BENCH_SINK', default: 'fast' },
});
const total = positiveInt(opts.recipients, 'recipients');
const timeoutMs = positiveInt(opts.timeout, 'timeout') * 1000;
const seedNumber = positiveInt(opts.seed, 'seed');
if (opts.sink !== 'fast' && opts.sink !== 'smtp-server')
  throw new Error(`--sink must be fast or smtp-server, got "${opts.sink}"`);
if (opts.store !== 'sqlite' && opts.store !== 'postgres')
  throw new Error(`--store must be sqlite or postgres, got "${opts.store}"`);
const store = opts.store as StoreKind;
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();
const log = (line: string) => console.log(line);

// The newsletter: personalized subject and body (a standard field and a custom field), three
// links to be click-tracked, the unsubscribe link (never rewritten), and the open pixel added.
const SUBJECT = 'Hello {{ firstname }}, this week in {{ customerFields.hometown }}';
const LINKS = [
  'https://shop.bench.example/sale?utm_campaign=weekly',
  'https://shop.bench.example/new-arrivals',
  'https://blog.bench.example/posts/42-autumn',
];
const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Weekly</title></head><body style="font-family:sans-serif">
<h1>Hello {{ firstname }} {{ lastname }}!</h1>
<p>Here is what is new for you in {{ customerFields.hometown }} this week. ${'Autumn is here, and so are our new collections: warm coats, soft scarves and boots for every weather. '.repeat(6)}</p>
<p><a href="${LINKS[0]}">Shop the sale</a></p>
<p>${'Fresh from the workshop: hand-made pieces in small numbers, while they last. '.repeat(4)}<a href="${LINKS[1]}">See the new arrivals</a></p>
<p>${'Our story of the week: how a small team in {{ city }} builds furniture that lasts for decades. '.repeat(3)}<a href="${LINKS[2]}">Read the story</a></p>
<p style="font-size:small">You receive this because you subscribed to the Bench newsletter. <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>
</body></html>`;

interface SampleCheck {
  recipient: string;
  subject: string;
  expectedSubject: string;
  subjectPersonalized: boolean;
  dkim: string;
  openPixel: boolean;
  trackedLinks: number;
  untrackedTargetsLeft: number;
  unsubscribeKept: boolean;
  bytes: number;
}

/** DKIM (against the key in the database), tracking and personalization of the sink's first message. */
async function checkSample(sample: Buffer | null, seed: Seed): Promise<SampleCheck | null> {
  if (!sample) return null;
  const { results } = await dkimVerify(sample, { resolver: async () => [[`v=DKIM1; k=rsa; p=${seed.dkimPublicKey}`]] });
  const dkim =
    results.map((r) => r.status.result + (r.status.comment ? ` (${r.status.comment})` : '')).join(', ') ||
    'no signature';
  const parsed = await simpleParser(sample);
  const recipient = (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.value[0]?.address ?? '';
  // Recipient i is `<firstname>.<i>@…`: regenerate row i to know what the subject must say.
  const i = Number(/^[^.@]+\.(\d+)@/.exec(recipient)?.[1] ?? -1);
  let expectedSubject = '?';
  if (i >= 0) {
    const make = makeSubscriberFactory(seed.seed);
    for (let k = 0; k < i; k++) make(k);
    const s = make(i);
    expectedSubject = `Hello ${s.firstname}, this week in ${s.city}`;
  }
  const html = String(parsed.html || '');
  const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
  return {
    recipient,
    subject: parsed.subject ?? '',
    expectedSubject,
    subjectPersonalized: parsed.subject === expectedSubject,
    dkim,
    openPixel: /<img[^>]+src="[^"]+\/t\/o\/[^"]+"/.test(html),
    trackedLinks: hrefs.filter((h) => h.includes('/t/c/')).length,
    untrackedTargetsLeft: LINKS.filter((l) => html.includes(l)).length,
    unsubscribeKept: hrefs.some((h) => h.includes('/p/unsubscribe/')),
    bytes: sample.length,
  };
}

async function messageStatuses(url: string, mailingId: number): Promise<Record<string, number>> {
  const db = await openStore(url);
  try {
    const rows = await db.db
      .selectFrom('messages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('mailing_id', '=', String(mailingId))
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  } finally {
    await db.close();
  }
}

async function run(sink: MailingSink, seed: Seed) {
  const runDb = await copySeed(seed, pgBaseUrl);
  const env: Record<string, string> = {
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    POSTHORN_RATE_LIMIT_PER_MINUTE: '0',
    ...(opts.serverNodeOptions ? { NODE_OPTIONS: opts.serverNodeOptions } : {}),
  };
  try {
    const label = `mailing-${store}-${total}-${Date.now()}`;
    const server = await startPosthornProcess({
      env,
      dataDir: runDb.dataDir,
      databaseUrl: runDb.url,
      role: 'all',
      label,
      cpuProfileDir: flag(opts.profile) ? path.join(RESULTS_DIR, 'profiles', label) : undefined,
    });
    const api = new ApiClient(server.url!, seed.key);
    let mailingId: number;
    const timeline = { sendAnsweredMs: 0, sinkDoneAt: null as number | null, sentAt: null as number | null };
    let t0: number;
    let memory: ReturnType<ReturnType<typeof startMemorySampler>['stop']>;
    let sampled: ReturnType<ReturnType<typeof startSampler>['stop']>;
    let serverCpu: number;
    let machineBusy: number;
    let benchCpu: NodeJS.CpuUsage;
    let loadBefore: number;
    let loadAfter: number;
    let busyBefore: number;
    let final: { status: string; recipientCount: number };
    try {
      const created = await api.request('POST', '/api/v1/mailings', {
        name: `Bench weekly ${total}`,
        channelId: seed.channelId,
        senderEmail: SENDER_EMAIL,
        senderName: 'Bench Shop',
        subject: SUBJECT,
        html: HTML,
        tracking: { opens: true, clicks: true },
      });
      if (created.status !== 201)
        throw new Error(
          `POST /api/v1/mailings answered ${created.status}: ${JSON.stringify(created.body).slice(0, 500)}`,
        );
      mailingId = created.body.data.id;

      busyBefore = await waitForQuietMachine(Number(opts.quietWait));
      loadBefore = loadAverage();
      const memorySampler = startMemorySampler(server.pid, 500);
      const sampler = startSampler(server.pid, () => sink.received);
      const cpu0 = server.cpuSeconds();
      const machine0 = machineBusySeconds();
      const benchCpu0 = process.cpuUsage();
      t0 = Date.now();
      const sent = await api.request('POST', `/api/v1/mailings/${mailingId}/send`);
      timeline.sendAnsweredMs = Date.now() - t0;
      if (sent.status !== 200)
        throw new Error(`send answered ${sent.status}: ${JSON.stringify(sent.body).slice(0, 500)}`);

      // Until the sink has everything (or the time is up), with a progress line every 15 s.
      const until = t0 + timeoutMs;
      let lastLog = Date.now();
      while (sink.received < total && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        if (Date.now() - lastLog >= 15_000) {
          lastLog = Date.now();
          const s = (lastLog - t0) / 1000;
          log(
            `  ${Math.round(s)} s: ${sink.received} at the sink (${Math.round(sink.received / s)}/s), server RSS ${Math.round(readMemory(server.pid)?.rssMB ?? NaN)} MB, load ${loadAverage()}`,
          );
        }
      }
      if (sink.received >= total) timeline.sinkDoneAt = sink.lastAt;
      // Then until the mailing says "sent": every outcome recorded, the mailing closed.
      for (;;) {
        const res = await api.get(`/api/v1/mailings/${mailingId}`);
        final = { status: res.body?.data?.status, recipientCount: res.body?.data?.recipientCount };
        if (final.status === 'sent') {
          timeline.sentAt = Date.now();
          break;
        }
        if (Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      loadAfter = loadAverage();
      serverCpu = server.cpuSeconds() - cpu0;
      machineBusy = machineBusySeconds() - machine0;
      benchCpu = process.cpuUsage(benchCpu0);
      sampled = sampler.stop();
      memory = memorySampler.stop();
    } finally {
      api.close();
      await server.stop();
    }

    const statuses = await messageStatuses(runDb.url, mailingId);
    const completed = timeline.sinkDoneAt !== null && timeline.sentAt !== null;
    const end = timeline.sentAt ?? Date.now();
    const window = (end - t0) / 1000;
    const sinkSeconds = ((timeline.sinkDoneAt ?? sink.lastAt ?? end) - t0) / 1000;
    const d = sink.decileAt;
    const steady = d[1] !== null && d[9] !== null && d[9] > d[1] ? (0.8 * total) / ((d[9] - d[1]) / 1000) : null;
    const benchCpuSeconds = (benchCpu!.user + benchCpu!.system) / 1e6;
    const sample = await checkSample(sink.sample, seed);
    const record = {
      bench: 'mailing',
      date: new Date().toISOString(),
      store,
      recipients: total,
      completed,
      seedSeconds: seed.seedSeconds,
      sendAnsweredMs: timeline.sendAnsweredMs,
      firstMessageSeconds: sink.firstAt ? round((sink.firstAt - t0) / 1000, 2) : null,
      secondsUntilSinkHadAll: timeline.sinkDoneAt ? round(sinkSeconds, 1) : null,
      secondsUntilSent: timeline.sentAt ? round(window, 1) : null,
      received: sink.received,
      messagesPerSecond: round(sink.received / sinkSeconds),
      // 10 % → 90 % of the messages at the sink: no start-up, no tail.
      steadyMessagesPerSecond: steady === null ? null : round(steady),
      decileSeconds: d.map((at) => (at === null ? null : round((at - t0) / 1000, 1))),
      peakRssMB: memory!.peakRssMB,
      maxSampledRssMB: memory!.maxSampledRssMB,
      rssAtSendMB: memory!.startRssMB,
      rssAtEndMB: memory!.endRssMB,
      serverCpuSeconds: round(serverCpu!, 1),
      serverCpuMsPerMessage: round((serverCpu! * 1000) / Math.max(1, sink.received), 3),
      serverCores: round(serverCpu! / window, 2),
      benchCores: round(benchCpuSeconds / window, 2),
      otherCores: round((machineBusy! - serverCpu! - benchCpuSeconds) / window, 2),
      otherCoresBeforeStart: busyBefore!,
      loadAverageStart: loadBefore!,
      loadAverageEnd: loadAfter!,
      mailingStatus: final!.status,
      mailingRecipientCount: final!.recipientCount,
      messageStatuses: statuses,
      dkimSigned: sink.dkimSigned,
      distinctMessageIds: sink.messageIds.size,
      withoutMessageId: sink.withoutMessageId,
      distinctRecipients: sink.distinctRecipients,
      duplicateRecipients: sink.duplicateRecipients,
      unexpectedRecipients: sink.unexpectedRecipients,
      averageMessageBytes: round(sink.bytes / Math.max(1, sink.received)),
      sample,
      settings: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('POSTHORN_'))),
        serverNodeOptions: opts.serverNodeOptions || null,
      },
      profile: server.cpuProfile(),
      perSecond: sampled!.perSecond,
      perSecondRssMB: memory!.perSecondRssMB,
      quietSeconds: sampled!.quiet.seconds,
      quietMessagesPerSecond: sampled!.quiet.rate,
      machine,
      code: codeVersion(),
    };
    if (opts.save !== '0') appendResult('mailing', record);
    if (record.profile) printProfileSummary(record.profile, 30);
    return record;
  } finally {
    await runDb.drop();
  }
}

console.log(`mailing benchmark: ${machineLine(machine)}`);
console.log(
  `${total} recipients, ${store}: personalized, open + click tracked, DKIM-signed (RSA-2048), relayed to a counting SMTP sink; load average ${loadAverage()}`,
);
const ownDataDir = !opts['data-dir'];
if (ownDataDir && flag(opts.seedOnly))
  throw new Error('--seedOnly 1 needs --data-dir (a seed in a temporary directory would be thrown away)');
const dataDir = opts['data-dir']
  ? path.resolve(opts['data-dir'])
  : fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-mailing-bench-'));
const seed = await ensureSeed({ recipients: total, seed: seedNumber, store, dataDir, pgBaseUrl, log });
if (flag(opts.seedOnly)) process.exit(0);
const sink = await (opts.sink === 'fast' ? startFastSink : startMailingSink)(total);
let r: Awaited<ReturnType<typeof run>>;
try {
  r = await run(sink, seed);
} finally {
  await sink.close();
  if (ownDataDir) {
    await dropSeed(seed, pgBaseUrl);
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
const s = r.sample;
const ok =
  r.completed &&
  r.received === total &&
  r.dkimSigned === total &&
  r.distinctMessageIds === total &&
  r.distinctRecipients === total &&
  r.duplicateRecipients === 0 &&
  r.mailingStatus === 'sent' &&
  r.mailingRecipientCount === total &&
  (r.messageStatuses.delivered ?? 0) === total &&
  s !== null &&
  s.dkim === 'pass' &&
  s.subjectPersonalized &&
  s.openPixel &&
  s.trackedLinks === LINKS.length &&
  s.untrackedTargetsLeft === 0 &&
  s.unsubscribeKept;
console.log();
printTable([
  {
    store,
    recipients: total,
    'time to sent': r.completed
      ? `${r.secondsUntilSent} s`
      : `TIMED OUT: ${r.received} at the sink, status ${r.mailingStatus}`,
    'sink had all': r.secondsUntilSinkHadAll === null ? '—' : `${r.secondsUntilSinkHadAll} s`,
    'target ≤6 min': r.completed && r.secondsUntilSent! <= TARGET_SECONDS ? 'met' : 'MISSED',
    'msg/s': r.messagesPerSecond,
    'steady msg/s (10→90 %)': r.steadyMessagesPerSecond ?? '—',
    'peak RSS (VmHWM)': `${r.peakRssMB} MB`,
    'target ≤300 MB': r.peakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED',
    'server CPU': `${r.serverCpuSeconds} s (${r.serverCpuMsPerMessage} ms/msg, ${r.serverCores} cores)`,
    'sink cores': r.benchCores,
    'other cores': r.otherCores,
    load: `${r.loadAverageStart} → ${r.loadAverageEnd}`,
  },
]);
console.log();
printTable([
  {
    'DKIM-signed': `${r.dkimSigned}/${r.received}`,
    'distinct Message-IDs': r.distinctMessageIds,
    'distinct recipients': `${r.distinctRecipients} (dup ${r.duplicateRecipients}, unexpected ${r.unexpectedRecipients})`,
    'messages delivered (DB)': r.messageStatuses.delivered ?? 0,
    mailing: `${r.mailingStatus}, recipientCount ${r.mailingRecipientCount}`,
    'sample DKIM': s?.dkim ?? 'no sample',
    'sample subject': s ? `${s.subjectPersonalized ? 'ok' : 'WRONG'}: "${s.subject}"` : '—',
    'pixel / tracked links': s ? `${s.openPixel ? 'yes' : 'NO'} / ${s.trackedLinks}` : '—',
    'avg bytes': r.averageMessageBytes,
    ok: ok ? 'yes' : 'NO',
  },
]);
if (!ok) process.exitCode = 1;
