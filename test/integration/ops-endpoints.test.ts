// The operations endpoints against a real server: /healthz, /readyz and /metrics on the API port,
// the metrics listener of its own (POSTHORN_METRICS_PORT) on a worker-role node, the bearer token
// of /metrics, and GET /v1/metrics/now. Traffic is real: transmissions through the API, delivered
// to an SMTP sink by the worker, and the scraped counters must move by what arrived.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { ConfigError, loadConfig, redacted } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { pgClusterUnavailableReason, startPgCluster, type PgCluster } from '../helpers/pg-cluster.ts';
import { startSecondNode, startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { relayTo, startRelayedServer } from '../helpers/relay-server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';

/** The sum of a metric's samples whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...((match[2] as string | undefined) ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[3]);
  }
  return total;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Polls `read` until `done` holds for what it read (or the time is up). */
function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  return waitFor(async () => {
    const value = await read();
    return done(value) ? { value } : null;
  }, timeoutMs).then((box) => box.value);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const transmission = (to: string[], extra: Record<string, unknown> = {}) => ({
  from: { email: 'ops@example.com' },
  to: to.map((email) => ({ email })),
  subject: 'Metrics',
  bodyText: 'counted',
  ...extra,
});

describe(`operations endpoints on the API port (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;

  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  it('/healthz is 200 without a key; /readyz names its checks, all ok', async () => {
    const health = await get(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    const ready = await get(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({
      status: 'ready',
      checks: { store: 'ok', migrations: 'ok', worker: 'ok' },
    });
  });

  it('/metrics moves with traffic: accepted, delivered, HTTP requests by route, latency, queue depth', async () => {
    const before = (await get(`${server.url}/metrics`)).text;
    expect(before).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(before).toMatch(/^nodejs_eventloop_lag_seconds /m);

    const recipients = ['a@example.org', 'b@example.org', 'c@example.org'];
    for (let i = 0; i < 2; i++) {
      const res = await server.api.request('POST', '/v1/layang/transmissions', { body: transmission(recipients) });
      expect(res.status).toBe(200);
    }
    await sink.waitForCount(6);
    // One the next hop refuses for good: a hard bounce, class 10.
    sink.rules.push({ recipient: /^gone@example\.org$/, code: 550, message: '5.1.1 <gone@example.org>: user unknown' });
    expect(
      (await server.api.request('POST', '/v1/layang/transmissions', { body: transmission(['gone@example.org']) }))
        .status,
    ).toBe(200);
    // Two more, scheduled an hour ahead: they stay queued.
    const later = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await server.api.request('POST', '/v1/layang/transmissions', {
      body: transmission(['d@example.org', 'e@example.org'], { sendAt: later }),
    });
    expect(scheduled.status).toBe(200);
    await server.api.request('GET', '/v1/messages/not-a-message');

    // Outcomes are counted once committed, a moment after the sink has the mail; the queue gauge
    // is at most a second old.
    const after = await until(
      async () => (await get(`${server.url}/metrics`)).text,
      (text) =>
        sample(text, 'posthorn_messages_delivered_total') - sample(before, 'posthorn_messages_delivered_total') >= 6 &&
        sample(text, 'posthorn_messages_bounced_total') - sample(before, 'posthorn_messages_bounced_total') >= 1 &&
        sample(text, 'posthorn_queue_messages', { status: 'queued' }) >= 2,
      10_000,
    );
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('posthorn_messages_accepted_total')).toBe(9);
    expect(delta('posthorn_messages_bounced_total', { class: '10' })).toBe(1);
    expect(delta('posthorn_messages_bounced_total')).toBe(1);
    expect(delta('posthorn_delivery_latency_seconds_count', { outcome: 'bounced' })).toBe(1);
    expect(delta('posthorn_messages_delivered_total')).toBe(6);
    expect(delta('posthorn_delivery_latency_seconds_count', { outcome: 'delivered' })).toBe(6);
    expect(
      delta('posthorn_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/layang/transmissions',
        status_class: '2xx',
      }),
    ).toBe(4);
    // The route pattern, never the raw URL.
    expect(
      delta('posthorn_http_request_duration_seconds_count', { route: '/v1/messages/:id', status_class: '4xx' }),
    ).toBe(1);
    expect(after).not.toContain('not-a-message');
    expect(sample(after, 'posthorn_queue_messages', { status: 'queued' })).toBe(2);
    expect(sample(after, 'posthorn_queue_messages', { status: 'deferred' })).toBe(0);
    expect(sample(after, 'posthorn_store_available')).toBe(1);
    expect(after).toMatch(/^posthorn_webhook_pending_batches 0$/m);
  });

  it("GET /v1/metrics/now: the account's queue and rates, the same numbers; another account sees its own", async () => {
    const now = await until(
      async () => server.api.request('GET', '/v1/metrics/now'),
      (res) => res.status === 200 && res.body.queue.queued === 2,
      5000,
    );
    expect(Object.keys(now.body).sort()).toEqual(['acceptedPerSecond', 'at', 'deliveredPerSecond', 'queue']);
    expect(now.body.queue).toEqual({ queued: 2, sending: 0, deferred: 0 });
    // 9 accepted and 6 delivered within the last minute.
    expect(now.body.acceptedPerSecond).toBeCloseTo(9 / 60, 2);
    expect(now.body.deliveredPerSecond).toBeCloseTo(6 / 60, 2);
    expect(Date.parse(now.body.at)).toBeGreaterThan(Date.now() - 60_000);

    const other = await server.newAccount();
    const theirs = await other.api.request('GET', '/v1/metrics/now');
    expect(theirs.status).toBe(200);
    expect(theirs.body).toMatchObject({
      queue: { queued: 0, sending: 0, deferred: 0 },
      acceptedPerSecond: 0,
      deliveredPerSecond: 0,
    });

    expect((await server.api.request('GET', '/v1/metrics/now', { auth: null })).status).toBe(401);
    const sendOnly = await server.newKey({ name: 'send only', permissions: ['send_api'] });
    const refused = await server.api.request('GET', '/v1/metrics/now', { auth: `Bearer ${sendOnly}` });
    expect(refused.status).toBe(403);
  });
});

describe(`/metrics behind POSTHORN_METRICS_TOKEN (${dialectName})`, () => {
  const token = 'a-metrics-token-of-some-length';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_METRICS_TOKEN: token });
  });
  afterAll(async () => server?.close());

  it('answers 401 without the bearer token or with another, 200 with it; the probes stay open', async () => {
    const none = await get(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.text).not.toContain('posthorn_');
    expect((await get(`${server.url}/metrics`, { authorization: 'Bearer not-the-token-at-all' })).status).toBe(401);
    expect((await get(`${server.url}/metrics`, { authorization: `Basic ${token}` })).status).toBe(401);
    const ok = await get(`${server.url}/metrics`, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(ok.text).toContain('posthorn_messages_accepted_total');
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe(`the metrics listener of a worker-role node (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;
  let worker: Posthorn;
  let listener: string;
  const token = 'worker-metrics-token-0123456789';

  beforeAll(async () => {
    sink = await startSmtpSink();
    const relay = relayTo(sink);
    // The API node alone takes requests; the worker node on the same database does the sending.
    server = await startTestServer({ ...relay, POSTHORN_ROLE: 'api' });
    worker = await startSecondNode(server, {
      ...relay,
      POSTHORN_ROLE: 'worker',
      POSTHORN_WORKER_POLL_MS: '20',
      POSTHORN_SMTP_PORT: '0',
      POSTHORN_INBOUND_PORT: '0',
      POSTHORN_METRICS_PORT: String(await freePort()),
      POSTHORN_METRICS_TOKEN: token,
    });
    listener = worker.metrics!.url;
  });
  afterAll(async () => {
    await worker?.close();
    await server?.close();
    await sink?.close();
  });

  it('serves /healthz, /readyz (with the worker check) and /metrics, and nothing else', async () => {
    expect(worker.url).toBeNull();
    expect((await get(`${listener}/healthz`)).status).toBe(200);
    const ready = await get(`${listener}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text).checks).toEqual({ store: 'ok', migrations: 'ok', worker: 'ok' });
    expect((await get(`${listener}/metrics`)).status).toBe(401);
    expect((await get(`${listener}/v1/account`)).status).toBe(404);
    // The API node's readiness has no worker check: its role has none.
    expect(JSON.parse((await get(`${server.url}/readyz`)).text).checks).toEqual({ store: 'ok', migrations: 'ok' });
  });

  it("counts the worker's deliveries and shows the queue", async () => {
    const auth = { authorization: `Bearer ${token}` };
    const before = (await get(`${listener}/metrics`, auth)).text;
    const res = await server.api.request('POST', '/v1/layang/transmissions', {
      body: transmission(['w1@example.org', 'w2@example.org']),
    });
    expect(res.status).toBe(200);
    await sink.waitForCount(2);
    const after = await until(
      async () => (await get(`${listener}/metrics`, auth)).text,
      (text) =>
        sample(text, 'posthorn_messages_delivered_total') - sample(before, 'posthorn_messages_delivered_total') >= 2,
      10_000,
    );
    expect(
      sample(after, 'posthorn_messages_delivered_total') - sample(before, 'posthorn_messages_delivered_total'),
    ).toBe(2);
    expect(after).toMatch(/^posthorn_queue_messages\{status="queued"\} \d+$/m);
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('/readyz fails the worker check once the worker stops', async () => {
    await worker.worker!.stop();
    const ready = await until(
      () => get(`${listener}/readyz`),
      (r) => r.status === 503,
      5000,
    );
    expect(JSON.parse(ready.text)).toEqual({
      status: 'unavailable',
      checks: { store: 'ok', migrations: 'ok', worker: 'failing' },
      failing: ['worker'],
    });
  });
});

describe.skipIf(dialectName !== 'sqlite')('/readyz while SQLite cannot write', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('is 503 naming the store after a write failed with SQLITE_FULL, ready again after a write', async () => {
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
    // The connection may not grow the file past its current size: the next write that needs a new
    // page fails with SQLITE_FULL, through the same driver and health tracking as a full disk.
    await sql`PRAGMA max_page_count = 1`.execute(server.app.ctx.db);
    const big = transmission(['full@example.org'], { bodyText: 'x'.repeat(200_000) });
    const refused = await server.api.request('POST', '/v1/layang/transmissions', { body: big });
    expect(refused.status).toBe(503);
    const down = await until(
      () => get(`${server.url}/readyz`),
      (r) => r.status === 503,
      5000,
    );
    expect(JSON.parse(down.text)).toEqual({
      status: 'unavailable',
      checks: { store: 'failing', migrations: 'ok', worker: 'ok' },
      failing: ['store'],
    });
    expect(sample((await get(`${server.url}/metrics`)).text, 'posthorn_store_available')).toBe(0);
    // Liveness is not readiness: the process is fine.
    expect((await get(`${server.url}/healthz`)).status).toBe(200);

    await sql`PRAGMA max_page_count = 1073741823`.execute(server.app.ctx.db);
    expect((await server.api.request('POST', '/v1/layang/transmissions', { body: big })).status).toBe(200);
    const up = await until(
      () => get(`${server.url}/readyz`),
      (r) => r.status === 200,
      5000,
    );
    expect(JSON.parse(up.text).checks.store).toBe('ok');
  });
});

const noCluster = pgClusterUnavailableReason();
if (noCluster) console.warn(`the PostgreSQL readiness test is skipped: ${noCluster}`);

describe.skipIf(noCluster !== null)('/readyz while PostgreSQL is stopped (a cluster of its own)', () => {
  let cluster: PgCluster | undefined;
  let app: Posthorn | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-test-'));

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await cluster?.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'is 503 naming the store while the database is down, and ready again once it is back',
    { timeout: 120_000 },
    async () => {
      cluster = await startPgCluster();
      const config = loadConfig({
        DATABASE_URL: cluster.url,
        POSTHORN_DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        POSTHORN_SMTP_PORT: '0',
        POSTHORN_INBOUND_PORT: '0',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      });
      app = await startPosthorn(config, { log: createLogger(config.logLevel) });
      const url = app.url!;
      expect((await get(`${url}/readyz`)).status).toBe(200);

      await cluster.stop();
      const down = await until(
        () => get(`${url}/readyz`),
        (r) => r.status === 503,
        15_000,
      );
      expect(JSON.parse(down.text)).toEqual({
        status: 'unavailable',
        checks: { store: 'failing', migrations: 'failing', worker: 'ok' },
        failing: ['store', 'migrations'],
      });
      expect(down.text).not.toMatch(/ECONNREFUSED|connect|postgres/i);
      expect((await get(`${url}/healthz`)).status).toBe(200);
      // The scrape still answers; the queue's series are left out rather than stale.
      const metrics = await get(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).not.toMatch(/^posthorn_queue_messages\{/m);

      await cluster.start();
      const up = await until(
        () => get(`${url}/readyz`),
        (r) => r.status === 200,
        30_000,
      );
      expect(JSON.parse(up.text).checks).toEqual({ store: 'ok', migrations: 'ok', worker: 'ok' });
      expect((await get(`${url}/metrics`)).text).toMatch(/^posthorn_queue_messages\{status="queued"\} 0$/m);
    },
  );
});

describe('operations settings', () => {
  it('refuse a short metrics token, hide it when printed, and read port 0 as no listener', () => {
    expect(() => loadConfig({ POSTHORN_METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    const config = loadConfig({ POSTHORN_METRICS_TOKEN: 'a-long-enough-token', POSTHORN_METRICS_PORT: '9464' });
    expect(config.ops).toEqual({ metricsPort: 9464, metricsHost: '127.0.0.1', metricsToken: 'a-long-enough-token' });
    expect(redacted(config).ops.metricsToken).toBe('***');
    expect(loadConfig({}).ops.metricsPort).toBeNull();
    expect(loadConfig({ HOST: '0.0.0.0', POSTHORN_METRICS_HOST: '10.0.0.2' }).ops.metricsHost).toBe('10.0.0.2');
  });
});
