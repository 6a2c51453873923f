// Rate limits, concurrency limits and the brute-force lock of the marketing API, against a real
// server: counters in memory and in Redis (REDIS_URL), and two nodes sharing one Redis.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecondNode, startTestServer, waitFor, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { REDIS_URL, haveRedis } from '../helpers/redis.ts';
import type { Posthorn } from '../../src/app.ts';

const basic = (key: string) => `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}`;

const RATE_BODY = {
  status: 'error',
  code: 429,
  message: 'Too many requests. Please slow down.',
  error: 'RATE_LIMIT_EXCEEDED',
  statusCode: 429,
};
const concurrentBody = (limit: number) => ({
  status: 'error',
  code: 429,
  message: 'Too many concurrent requests. Please wait for existing requests to complete.',
  error: 'CONCURRENT_LIMIT_EXCEEDED',
  statusCode: 429,
  concurrencyLimit: limit,
  remaining: 0,
});
const LOCKED_BODY = {
  status: 'error',
  code: 1100,
  message: 'Too many failed authentications.',
  errors: [],
  statusCode: 429,
};

const header = (res: ApiResponse, name: string) => res.headers.get(name);

/** Shifts the server's clock (ctx.clock is read on every limit decision). */
function clockShifter(server: TestServer) {
  let offset = 0;
  server.app.ctx.clock = () => Date.now() + offset;
  return (ms: number) => (offset += ms);
}

/** An import upload whose body is held open: a real request in flight until finish() is called. */
function heldUpload(url: string, key: string, i: number) {
  const req = http.request(`${url}/api/v1/subscribers/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
  });
  const upload = {
    answered: false,
    response: new Promise<{ status: number; body: any }>((resolve, reject) => {
      req.on('response', (res) => {
        upload.answered = true;
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
    }),
    finish() {
      req.end(`held${i}@example.com\n`);
      return upload.response;
    },
    abort() {
      upload.response.catch(() => {}); // the hang-up is the point
      req.destroy();
    },
  };
  req.write('email\n');
  return upload;
}

/**
 * Puts `limit` uploads in flight for the key, one at a time, each confirmed by a probe request
 * that sees one more slot taken. A probe may take the last slot just before an upload arrives;
 * that upload is refused at once and sent again. Returns the uploads and the probe that found
 * every slot taken (the 11th request, with its 429).
 */
async function fillSlots(server: TestServer, key: string, limit: number) {
  const held: ReturnType<typeof heldUpload>[] = [];
  // Every request made with the key (uploads and probes): each may count against its minute window.
  let requests = 0;
  for (;;) {
    const upload = heldUpload(server.url, key, held.length);
    requests++;
    type Seen = { kind: 'refused upload' } | { kind: 'admitted' } | { kind: 'full'; probe: ApiResponse };
    const seen = await waitFor<Seen>(
      async () => {
        if (upload.answered) return { kind: 'refused upload' };
        const probe = await server.api.get('/api/v1/whoami', { auth: basic(key) });
        requests++;
        if (probe.status === 429 && held.length + 1 === limit) return { kind: 'full', probe };
        const remaining = Number(header(probe, 'x-concurrencylimit-remaining'));
        return probe.status === 200 && remaining === limit - held.length - 2 ? { kind: 'admitted' } : null;
      },
      10_000,
      `upload ${held.length + 1} in flight`,
    );
    if (seen.kind === 'refused upload') {
      upload.abort();
      continue;
    }
    held.push(upload);
    if (seen.kind === 'full') return { held, refused: seen.probe, requests };
  }
}

for (const store of ['memory', 'redis'] as const) {
  describe.skipIf(store === 'redis' && !haveRedis)(
    `marketing API limits with counters in ${store} (${dialectName})`,
    () => {
      const env: Record<string, string> = store === 'redis' ? { REDIS_URL } : {};

      describe('rate and concurrency limits (defaults: 600 a minute, 10 at once)', () => {
        let server: TestServer;
        beforeAll(async () => {
          server = await startTestServer(env);
        });
        afterAll(async () => server?.close());

        it('reports both limits on every authenticated response, in every auth form', async () => {
          const key = await server.newKey({ name: 'headers' });
          const first = await server.api.get('/api/v1/whoami', { auth: basic(key) });
          expect(first.status).toBe(200);
          expect(header(first, 'x-ratelimit-limit')).toBe('600');
          expect(header(first, 'x-ratelimit-remaining')).toBe('599');
          expect(header(first, 'x-concurrencylimit-limit')).toBe('10');
          expect(header(first, 'x-concurrencylimit-remaining')).toBe('9');
          expect(header(first, 'retry-after')).toBeNull();
          expect(header(first, 'x-ratelimit-reset')).toBeNull();
          const second = await server.api.get('/api/v1/whoami', { auth: `Bearer ${key}` });
          expect(header(second, 'x-ratelimit-remaining')).toBe('598');
          // Error answers count and carry the headers too.
          const missing = await server.api.get('/api/v1/jobs/999999', { auth: key });
          expect(missing.status).toBe(404);
          expect(header(missing, 'x-ratelimit-remaining')).toBe('597');
          // The transactional surface is not limited (yet).
          const v1 = await server.api.get('/v1/permission', { auth: `Bearer ${key}` });
          expect(v1.status).toBe(200);
          expect(header(v1, 'x-ratelimit-limit')).toBeNull();
        });

        it('answers the 601st request of a minute with the exact 429, per key, until the minute is over', async () => {
          // The server's clock stands still, so a slow machine cannot let the minute pass mid-test.
          const t0 = Date.now();
          server.app.ctx.clock = () => t0;
          try {
            const key = await server.newKey({ name: 'busy' });
            const started = Date.now();
            const statuses: number[] = [];
            // Five at a time: under the concurrency limit, so only the minute limit can refuse.
            for (let i = 0; i < 600; i += 5) {
              const batch = await Promise.all(
                Array.from({ length: 5 }, () => server.api.get('/api/v1/whoami', { auth: basic(key) })),
              );
              statuses.push(...batch.map((r) => r.status));
            }
            console.log(`600 requests in ${Date.now() - started} ms (${store}, ${dialectName})`);
            expect(statuses.filter((s) => s !== 200)).toEqual([]);

            const refused = await server.api.get('/api/v1/whoami', { auth: basic(key) });
            expect(refused.status).toBe(429);
            expect(refused.body).toEqual(RATE_BODY);
            expect(header(refused, 'content-type')).toContain('application/json');
            expect(header(refused, 'x-ratelimit-limit')).toBe('600');
            expect(header(refused, 'x-ratelimit-remaining')).toBe('0');
            expect(header(refused, 'x-concurrencylimit-limit')).toBe('10');
            expect(header(refused, 'x-concurrencylimit-remaining')).toBe('9');
            // The window opened with the key's first request and lasts a minute.
            expect(header(refused, 'retry-after')).toBe('60');
            expect(header(refused, 'x-ratelimit-reset')).toBe(String(Math.ceil((t0 + 60_000) / 1000)));

            // Another key of the same account has its own count.
            expect((await server.api.get('/api/v1/whoami')).status).toBe(200);

            server.app.ctx.clock = () => t0 + 59_999;
            expect((await server.api.get('/api/v1/whoami', { auth: basic(key) })).status).toBe(429);
            server.app.ctx.clock = () => t0 + 60_000;
            const later = await server.api.get('/api/v1/whoami', { auth: basic(key) });
            expect(later.status).toBe(200);
            expect(header(later, 'x-ratelimit-remaining')).toBe('599');
          } finally {
            server.app.ctx.clock = Date.now;
          }
        }, 60_000);

        it('answers the 11th concurrent request with the exact 429 while 10 are in flight', async () => {
          const key = await server.newKey({ name: 'parallel' });
          // Ten uploads whose bodies are still coming: each holds a slot until it is answered.
          const { held: uploads, refused, requests } = await fillSlots(server, key, 10);
          expect(refused.body).toEqual(concurrentBody(10));
          expect(header(refused, 'x-concurrencylimit-limit')).toBe('10');
          expect(header(refused, 'x-concurrencylimit-remaining')).toBe('0');
          expect(Number(header(refused, 'retry-after'))).toBeGreaterThanOrEqual(1);
          expect(Number(header(refused, 'x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
          // The minute window's own count, not the concurrency limit's: at most what the key has used.
          // (How many probes filling the slots took depends on the machine's load.)
          const remaining = Number(header(refused, 'x-ratelimit-remaining'));
          expect(remaining).toBeGreaterThanOrEqual(600 - requests);
          expect(remaining).toBeLessThan(600);

          // Other keys are not held up.
          expect((await server.api.get('/api/v1/whoami')).status).toBe(200);

          const answers = await Promise.all(uploads.map((u) => u.finish()));
          expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
          expect(answers.map((a) => a.body.data.objectType)).toEqual(Array(10).fill('Job'));

          // Every slot came back with its answer.
          const after = await server.api.get('/api/v1/whoami', { auth: basic(key) });
          expect(after.status).toBe(200);
          expect(header(after, 'x-concurrencylimit-remaining')).toBe('9');
        });

        it('gives the slot back when a client hangs up mid-request', async () => {
          const key = await server.newKey({ name: 'hang up' });
          const { held } = await fillSlots(server, key, 10);
          for (const upload of held) upload.abort();
          await waitFor(
            async () => (await server.api.get('/api/v1/whoami', { auth: key })).status === 200,
            10_000,
            'slots released',
          );
          const res = await server.api.get('/api/v1/whoami', { auth: key });
          expect(header(res, 'x-concurrencylimit-remaining')).toBe('9');
        });
      });

      describe('configured limits', () => {
        let server: TestServer;
        let parallelServer: TestServer;
        beforeAll(async () => {
          [server, parallelServer] = await Promise.all([
            startTestServer({ ...env, POSTHORN_RATE_LIMIT_PER_MINUTE: '3' }),
            startTestServer({ ...env, POSTHORN_CONCURRENCY_LIMIT: '2' }),
          ]);
        });
        afterAll(async () => Promise.all([server?.close(), parallelServer?.close()]));

        it('uses POSTHORN_RATE_LIMIT_PER_MINUTE', async () => {
          const key = await server.newKey({ name: 'small' });
          const answers = [];
          for (let i = 0; i < 4; i++) answers.push(await server.api.get('/api/v1/whoami', { auth: basic(key) }));
          expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
          expect(answers.map((a) => header(a, 'x-ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
          expect(answers[3]!.body).toEqual(RATE_BODY);
        });

        it('uses POSTHORN_CONCURRENCY_LIMIT', async () => {
          const server = parallelServer;
          const parallel = await server.newKey({ name: 'parallel' });
          const { held, refused } = await fillSlots(server, parallel, 2);
          expect(refused.body).toEqual(concurrentBody(2));
          expect((await Promise.all(held.map((h) => h.finish()))).map((a) => a.status)).toEqual([202, 202]);
        });
      });

      describe('brute-force lock per client IP', () => {
        let server: TestServer;
        let shift: (ms: number) => number;
        const wrong = 'Zz9Zz9Zz.' + '0123456789abcdef'.repeat(2);
        const fail = async () => {
          const res = await server.api.get('/api/v1/whoami', { auth: basic(wrong) });
          expect(res.status, res.text).toBe(401);
        };
        const expectLocked = async (seconds: number) => {
          // A right key is refused too while the IP is locked.
          const res = await server.api.get('/api/v1/whoami', { auth: basic(server.key) });
          expect(res.status).toBe(429);
          expect(res.body).toEqual(LOCKED_BODY);
          expect(Number(header(res, 'retry-after'))).toBe(seconds);
        };
        const expectOpen = async () =>
          expect((await server.api.get('/api/v1/whoami', { auth: basic(server.key) })).status).toBe(200);

        beforeAll(async () => {
          server = await startTestServer(env);
          shift = clockShifter(server);
        });
        afterAll(async () => server?.close());

        it('locks as the spec schedules it: 5 → 30 s, 3 more tries, 8 → 60 s, 9 → 120 s, 10 → 5 min, 11 → 10 min, then +5 min', async () => {
          for (let i = 1; i <= 4; i++) await fail();
          await expectOpen();
          await fail(); // 5th
          await expectLocked(30);
          shift(29_000);
          await expectLocked(1);
          shift(1_000);
          await expectOpen();
          await fail(); // 6th
          await fail(); // 7th
          await expectOpen();
          await fail(); // 8th
          await expectLocked(60);
          const schedule = [
            [60, 120], // after the 8th's lock, the 9th locks 120 s
            [120, 300],
            [300, 600],
            [600, 900],
            [900, 1200],
          ];
          for (const [wait, next] of schedule) {
            shift(wait! * 1000);
            await fail();
            await expectLocked(next!);
          }
        });

        it('does not count failures on the transactional surface, and starts over after 60 minutes without one', async () => {
          shift(1200 * 1000 + 60 * 60 * 1000); // the last lock is over, and an hour passed since the last failure
          await expectOpen();
          for (let i = 1; i <= 4; i++) {
            const res = await server.api.get('/v1/permission', { auth: `Bearer ${wrong}` });
            expect(res.status).toBe(401);
          }
          for (let i = 1; i <= 4; i++) await fail();
          await expectOpen(); // four failures here (the /v1 ones lock /v1, not this API)
          await fail(); // the 5th
          await expectLocked(30);
          // The transactional surface keeps its own count, and answers in its own dialect.
          expect((await server.api.get('/v1/permission')).status).toBe(200);
        });
      });
    },
  );
}

describe.skipIf(!haveRedis)(`limits shared by two nodes through Redis (${dialectName})`, () => {
  let server: TestServer;
  let second: Posthorn;
  beforeAll(async () => {
    const env = { REDIS_URL, POSTHORN_RATE_LIMIT_PER_MINUTE: '6' };
    server = await startTestServer(env);
    second = await startSecondNode(server, env);
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('counts one key across both nodes', async () => {
    const key = await server.newKey({ name: 'two nodes' });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const url = (i % 2 ? second.url! : server.url) + '/api/v1/whoami';
      statuses.push((await fetch(url, { headers: { authorization: basic(key) } })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });
});

describe(`limits when Redis is down (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    // A port nothing listens on.
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    server = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${closed}` });
  });
  afterAll(async () => server?.close());

  it('lets requests through without limit headers rather than failing the API', async () => {
    const res = await server.api.get('/api/v1/whoami');
    expect(res.status).toBe(200);
    expect(header(res, 'x-ratelimit-limit')).toBeNull();
  });
});
