// Load shedding: a saturated server answers excess API requests at once with 503 and Retry-After,
// in each surface's dialect, instead of letting every request wait longer and longer.
// 1. The mechanism, exactly: with one request in flight allowed, a second one is shed on both
//    surfaces, before authentication; public routes are never shed; a client that comes back on
//    the same connection before its Retry-After is held until then and refused; the slot comes
//    back with the answer.
// 2. The load test: Posthorn as its own process (`posthorn start`, so the load generator does not
//    share its event loop), 256 clients each sending the next transmission as soon as the last one
//    is answered, Retry-After or not (autocannon), for 8 s: excess gets 503 + Retry-After, and the
//    99th percentile of the answered transmissions stays under a second (requests started in the
//    first 2 s, while 256 connections open at once, are not counted).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';

/** A marketing import upload whose body is held open: one API request in flight until finish(). */
function heldUpload(url: string, key: string) {
  const req = http.request(`${url}/api/v1/subscribers/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
  });
  const response = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  req.write('email\n');
  return { finish: () => (req.end('held@example.com\n'), response) };
}

/** GET /v1/permission through the given agent: status, time taken, and whether the socket was reused. */
function rawGet(url: string, key: string, agent: http.Agent) {
  const started = performance.now();
  return new Promise<{ status: number; ms: number; sameSocket: boolean }>((resolve, reject) => {
    const req = http.get(`${url}/v1/permission`, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode!, ms: performance.now() - started, sameSocket: req.reusedSocket }),
      );
    });
    req.on('error', reject);
  });
}

describe(`load shedding, the mechanism (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_SHED_MAX_IN_FLIGHT: '1', POSTHORN_SHED_RETRY_AFTER_SECONDS: '2' });
  });
  afterAll(async () => server?.close());

  it('sheds what exceeds the bound with 503 + Retry-After in each dialect, before authentication', async () => {
    expect((await server.api.get('/v1/permission')).status).toBe(200);
    const upload = heldUpload(server.url, server.key);
    // The upload is in flight once it holds the only slot: then everything else is shed.
    let shed = await server.api.get('/v1/permission');
    for (let i = 0; shed.status === 200 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      shed = await server.api.get('/v1/permission');
    }
    expect(shed.status, shed.text).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('2');
    expect(shed.body).toEqual({
      errors: [{ message: 'service unavailable', description: expect.stringContaining('overloaded'), code: '1503' }],
      message: expect.stringContaining('overloaded'),
    });

    const marketing = await server.api.get('/api/v1/whoami');
    expect(marketing.status).toBe(503);
    expect(marketing.headers.get('retry-after')).toBe('2');
    expect(marketing.body).toMatchObject({ status: 'error', code: 1001, statusCode: 503 });

    // Shed before the key is looked at: a wrong key costs nothing and counts for no lock.
    const wrong = await server.api.get('/v1/permission', { auth: 'Bearer AbCd1234.' + '0'.repeat(32) });
    expect(wrong.status).toBe(503);
    // Routes without authentication (documentation, public pages) are not shed.
    expect((await server.api.get('/v1/openapi.json')).status).toBe(200);

    // One connection that comes back at once after its 503 waits out its Retry-After (2 s) first.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await rawGet(server.url, server.key, agent);
      expect(first.status).toBe(503);
      expect(first.ms).toBeLessThan(1500);
      const early = await rawGet(server.url, server.key, agent);
      expect(early.status).toBe(503);
      expect(early.ms).toBeGreaterThanOrEqual(1500);
      expect(early.sameSocket).toBe(true);
    } finally {
      agent.destroy();
    }

    expect(await upload.finish()).toBe(202);
    // The slot came back with the answer.
    let after = await server.api.get('/v1/permission');
    for (let i = 0; after.status !== 200 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = await server.api.get('/v1/permission');
    }
    expect(after.status).toBe(200);
  });
});

describe(`load shedding under load (${dialectName})`, () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: ChildServer;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-shed-'));
    server = await startChildServer({
      POSTHORN_DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      POSTHORN_ROLE: 'api',
      POSTHORN_SHED_MAX_IN_FLIGHT: '8',
      POSTHORN_V1_RATE_PER_SECOND: '0',
      POSTHORN_V1_RATE_PER_MINUTE: '0',
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers excess with 503 + Retry-After and keeps p99 of the answered transmissions under 1 s', async () => {
    const WARM_UP_MS = 2000;
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const badRefusals: string[] = [];
    const body = JSON.stringify({
      from: { email: 'load@example.com' },
      to: [{ email: 'rcpt@example.org' }],
      subject: 'Load {{n}}',
      bodyText: 'Hello {{n}}',
      substitutionData: { n: 1 },
    });
    const started = Date.now();
    const instance = autocannon({
      url: `${server.url}/v1/layang/transmissions`,
      connections: 256,
      duration: 8,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          headers: { authorization: `Bearer ${server.firstKey}`, 'content-type': 'application/json' },
          body,
          onResponse: (status: number, text: string, _context: unknown, headers: Record<string, string>) => {
            if (status !== 503) return;
            const code = (JSON.parse(text) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
            if (headers['retry-after'] !== '1' || code !== '1503')
              badRefusals.push(`Retry-After ${headers['retry-after']}, code ${code}`);
          },
        },
      ],
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (Date.now() - ms - started < WARM_UP_MS) return; // started while the connections opened
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) latencies.push(ms);
    });
    const result = await new Promise<Result>((resolve) => instance.on('done', resolve));

    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const summary = {
      statuses: Object.fromEntries(statuses),
      p50: Math.round(p(0.5)),
      p99: Math.round(p(0.99)),
      max: Math.round(latencies.at(-1)!),
      errors: result.errors,
      timeouts: result.timeouts,
    };
    console.log(`load shedding (${dialectName}): ${JSON.stringify(summary)}`);
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(statuses.get(503)).toBeGreaterThan(0);
    expect(badRefusals.slice(0, 5)).toEqual([]);
    expect(result.errors).toBe(0);
    expect(summary.p99).toBeLessThan(1000);
  }, 60_000);
});
