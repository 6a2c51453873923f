// Direct MX delivery against the alternatives: N DKIM-signed messages to D local domains, each
// domain's MX (published by a DNS server in this process) a counting SMTP server on its own
// loopback address (127.0.0.11, .12, …), all on one port. The same queue is delivered three ways:
//
//   mx       Posthorn's worker resolves each domain and delivers to its exchanger itself
//   relay    Posthorn's worker hands everything to one relay (the first exchanger's server)
//   postfix  Posthorn's worker relays to a local Postfix, which delivers to the exchangers
//            (transport_maps to the same hosts the DNS names); timed until the exchangers have all
//
//   npm run bench:mx [-- --messages 20000 --domains 10 --transports mx,relay,postfix --stores sqlite]
//
// Messages are queued with the worker off, then a worker-only Posthorn is started and timed from
// ready until the last message arrives at an exchanger.
import { readOptions, positiveInt } from './lib/options.ts';
import { createBenchDatabase, storesToRun, type BenchDatabase, type StoreKind } from './lib/bench-database.ts';
import { freePort, startPosthornProcess } from './lib/posthorn-process.ts';
import { startCountingSink, type CountingSink } from './lib/counting-sink.ts';
import { FROM_DOMAIN } from './lib/payload.ts';
import { codeVersion, describeMachine, machineLine, waitForQuietMachine } from './lib/machine.ts';
import { appendResult, printTable, round } from './lib/results.ts';
import { postfixAvailable, startPostfix, waitForPort, type PostfixInstance } from './lib/postfix-instance.ts';
import { startDnsServer, type DnsTestServer } from '../test/helpers/dns-server.ts';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

const opts = readOptions({
  messages: { env: 'BENCH_MESSAGES', default: '20000' },
  domains: { env: 'BENCH_DOMAINS', default: '10' },
  recipients: { env: 'BENCH_RECIPIENTS', default: '1000' },
  transports: { env: 'BENCH_TRANSPORTS', default: 'mx,relay,postfix' },
  stores: { env: 'BENCH_STORES', default: 'sqlite' },
  timeout: { env: 'BENCH_TIMEOUT', default: '300' },
  save: { env: 'BENCH_SAVE', default: '1' },
  quietWait: { env: 'BENCH_QUIET_WAIT', default: '30' },
});
const total = positiveInt(opts.messages, 'messages');
const domainCount = positiveInt(opts.domains, 'domains');
const perTransmission = Math.min(positiveInt(opts.recipients, 'recipients'), total);
const timeoutMs = positiveInt(opts.timeout, 'timeout') * 1000;
const pgBaseUrl = process.env.BENCH_DATABASE_URL || null;
const machine = describeMachine();
const transports = opts.transports.split(',').map((t) => t.trim()) as Array<'mx' | 'relay' | 'postfix'>;
for (const t of transports)
  if (!['mx', 'relay', 'postfix'].includes(t)) throw new Error(`--transports takes mx, relay, postfix; got "${t}"`);

const domainName = (i: number) => `d${i}.bench.example`;
const exchangerAddress = (i: number) => `127.0.0.${11 + i}`;

interface World {
  dns: DnsTestServer;
  port: number;
  sinks: CountingSink[];
  received(): number;
  lastAt(): number;
}

async function startWorld(): Promise<World> {
  const dns = await startDnsServer();
  for (;;) {
    const port = await freePort();
    const sinks: CountingSink[] = [];
    try {
      for (let i = 0; i < domainCount; i++) sinks.push(await startCountingSink({ host: exchangerAddress(i), port }));
    } catch (error) {
      for (const s of sinks) await s.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw error;
    }
    for (let i = 0; i < domainCount; i++) {
      dns.setMx(domainName(i), [10, `mx.${domainName(i)}`]);
      dns.setA(`mx.${domainName(i)}`, exchangerAddress(i));
    }
    return {
      dns,
      port,
      sinks,
      received: () => sinks.reduce((n, s) => n + s.received, 0),
      lastAt: () => Math.max(...sinks.map((s) => s.lastAt ?? 0)),
    };
  }
}

/** Queues `total` messages, recipients spread round robin over the domains; returns the signing key. */
async function queue(db: BenchDatabase): Promise<{ publicKey: string }> {
  const api = await startPosthornProcess({
    env: { POSTHORN_DELIVERY: 'capture', POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false' },
    dataDir: db.dataDir,
    databaseUrl: db.url,
    role: 'api',
    label: 'mx-bench-api',
  });
  try {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${api.key}` };
    const added = await fetch(`${api.url}/v1/domain/sending`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ domain: FROM_DOMAIN, note: 'benchmark' }),
    });
    if (added.status !== 201) throw new Error(`adding the sending domain answered ${added.status}`);
    const { dkimValue } = (await added.json()) as { dkimValue: string };
    for (let first = 0; first < total; first += perTransmission) {
      const count = Math.min(perTransmission, total - first);
      const res = await fetch(`${api.url}/v1/layang/transmissions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          from: { email: `orders@${FROM_DOMAIN}`, name: 'Bench Shop' },
          to: Array.from({ length: count }, (_, k) => ({
            email: `customer${first + k}@${domainName((first + k) % domainCount)}`,
          })),
          subject: 'Your order #{{n}} was received',
          bodyHtml: '<p>Thanks for your order. We will let you know when it ships.</p>'.repeat(12),
          substitutionData: { n: first },
        }),
      });
      if (res.status !== 200) throw new Error(`queueing answered ${res.status}: ${await res.text()}`);
    }
    return { publicKey: /p=([^;\s]+)/.exec(dkimValue)![1]! };
  } finally {
    await api.stop();
  }
}

async function runOnce(store: StoreKind, transport: 'mx' | 'relay' | 'postfix', world: World) {
  const db = await createBenchDatabase(store, pgBaseUrl);
  let postfix: PostfixInstance | null = null;
  try {
    const { publicKey } = await queue(db);
    let env: Record<string, string>;
    if (transport === 'mx') {
      env = {
        POSTHORN_DELIVERY: 'mx',
        POSTHORN_DNS_SERVERS: world.dns.address,
        POSTHORN_MX_PORT: String(world.port),
        POSTHORN_HOSTNAME: 'posthorn.bench.example',
      };
    } else if (transport === 'relay') {
      env = { POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: world.sinks[0]!.url };
    } else {
      // Each domain to its exchanger (the host the DNS names), 10 connections per destination like mx.
      const routes = Array.from(
        { length: domainCount },
        (_, i) => `${domainName(i)}=smtp:[${exchangerAddress(i)}]:${world.port}`,
      );
      postfix = startPostfix(await freePort(), {
        hold: false,
        mainCf: [
          `transport_maps = inline:{ ${routes.join(', ')} }`,
          'smtp_tls_security_level = none',
          'default_destination_concurrency_limit = 10',
          'smtp_destination_concurrency_limit = 10',
          'in_flow_delay = 0',
        ],
      });
      await waitForPort(postfix.port);
      env = { POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: `smtp://127.0.0.1:${postfix.port}?starttls=off` };
    }
    for (const s of world.sinks) s.reset();
    const busyBefore = await waitForQuietMachine(Number(opts.quietWait));
    const worker = await startPosthornProcess({
      env: { ...env, POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false' },
      dataDir: db.dataDir,
      databaseUrl: db.url,
      role: 'worker',
      label: `mx-bench-${transport}`,
    });
    const readyAt = Date.now();
    const cpu0 = worker.cpuSeconds();
    let completed = true;
    let cpu = 0;
    try {
      const until = readyAt + timeoutMs;
      while (world.received() < total) {
        if (Date.now() > until) {
          completed = false;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      cpu = worker.cpuSeconds() - cpu0;
    } finally {
      await worker.stop();
    }
    const received = world.received();
    const seconds = ((completed ? world.lastAt() : Date.now()) - readyAt) / 1000;
    const sample = world.sinks.find((s) => s.sample)?.sample ?? null;
    const verify = sample
      ? (await dkimVerify(sample, { resolver: async () => [[`v=DKIM1; k=rsa; p=${publicKey}`]] })).results
          .map((r: { status: { result: string } }) => r.status.result)
          .join(',')
      : 'no sample';
    const record = {
      bench: 'mx',
      date: new Date().toISOString(),
      store,
      transport,
      messages: total,
      domains: domainCount,
      completed,
      received,
      seconds: round(seconds, 2),
      messagesPerSecond: round(received / seconds),
      perDomain: world.sinks.map((s) => s.received),
      dkimSigned: world.sinks.reduce((n, s) => n + s.dkimSigned, 0),
      sampleDkimVerify: verify,
      workerCpuMsPerMessage: round((cpu * 1000) / Math.max(1, received), 3),
      otherCoresBusyBefore: busyBefore,
      machine,
      code: codeVersion(),
    };
    if (opts.save !== '0') appendResult('mx', record);
    return record;
  } finally {
    postfix?.stop();
    await db.drop();
  }
}

console.log(`mx benchmark: ${machineLine(machine)}`);
console.log(`${total} DKIM-signed messages to ${domainCount} local domains; transports: ${transports.join(', ')}`);
if (transports.includes('postfix') && (!postfixAvailable() || process.getuid?.() !== 0))
  throw new Error('the postfix run needs Postfix installed (apt-get install postfix) and root');
const world = await startWorld();
const rows: Array<Record<string, string | number>> = [];
let failed = false;
try {
  for (const store of storesToRun(pgBaseUrl, opts.stores)) {
    for (const transport of transports) {
      console.log(`… ${store}, ${transport}`);
      const r = await runOnce(store, transport, world);
      const ok = r.completed && r.received === total && r.dkimSigned === total && /^pass/.test(r.sampleDkimVerify);
      failed ||= !ok;
      rows.push({
        store,
        transport,
        'msg/s': r.messagesPerSecond,
        seconds: r.seconds,
        received: `${r.received}/${total}`,
        'per domain': `${Math.min(...r.perDomain)}–${Math.max(...r.perDomain)}`,
        'DKIM-signed': r.dkimSigned,
        'sample verify': r.sampleDkimVerify,
        'worker CPU/msg': `${r.workerCpuMsPerMessage} ms`,
        ok: ok ? 'yes' : 'NO',
      });
    }
  }
} finally {
  for (const s of world.sinks) await s.close();
  await world.dns.close();
}
console.log();
printTable(rows);
if (failed) process.exitCode = 1;
