// Requests per API key on the transactional API (/v1): per second and per minute from the
// configuration (POSTHORN_V1_RATE_PER_SECOND, POSTHORN_V1_RATE_PER_MINUTE), answered 429 with code
// 1429 and Retry-After, with counters in memory and in Redis, and on two nodes sharing Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startSecondNode, startTestServer, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { REDIS_URL, haveRedis } from '../helpers/redis.ts';
import type { Posthorn } from '../../src/app.ts';

function expectLimited(res: ApiResponse, retryAfter: string, unit: 'second' | 'minute') {
  expect(res.status, res.text).toBe(429);
  expect(res.headers.get('retry-after')).toBe(retryAfter);
  expect(res.body).toEqual({
    errors: [{ message: 'too many requests', description: expect.stringContaining(`per ${unit}`), code: '1429' }],
    message: expect.stringContaining(`per ${unit}`),
  });
}

for (const store of ['memory', 'redis'] as const) {
  describe.skipIf(store === 'redis' && !haveRedis)(`/v1 rate limits with counters in ${store} (${dialectName})`, () => {
    const env: Record<string, string> = store === 'redis' ? { REDIS_URL } : {};
    let server: TestServer;
    let t0: number;
    beforeAll(async () => {
      server = await startTestServer({ ...env, POSTHORN_V1_RATE_PER_SECOND: '5', POSTHORN_V1_RATE_PER_MINUTE: '12' });
    });
    afterAll(async () => server?.close());

    /** The server's clock stands still at t0 + ms (limits read it on every request). */
    const at = (ms: number) => (server.app.ctx.clock = () => t0 + ms);

    it('answers the 6th request of a second 429/1429 with Retry-After, per key, until the second is over', async () => {
      t0 = Date.now();
      at(0);
      try {
        const key = new ApiClient(server.url, await server.newKey({ name: 'per second' }));
        const statuses = [];
        for (let i = 0; i < 5; i++) statuses.push((await key.get('/v1/permission')).status);
        expect(statuses).toEqual([200, 200, 200, 200, 200]);
        expectLimited(await key.get('/v1/permission'), '1', 'second');
        // Every /v1 route counts, a send as much as a read; other keys have their own count.
        expectLimited(await key.post('/v1/layang/transmissions', {}), '1', 'second');
        expect((await server.api.get('/v1/permission')).status).toBe(200);
        // The marketing surface has its own limits (per minute, from the marketing spec).
        expect((await key.get('/api/v1/whoami')).status).toBe(200);

        at(999);
        expectLimited(await key.get('/v1/permission'), '1', 'second');
        at(1000);
        expect((await key.get('/v1/permission')).status).toBe(200);
      } finally {
        server.app.ctx.clock = Date.now;
      }
    });

    it('answers the 13th request of a minute 429/1429 with the seconds left of that minute', async () => {
      t0 = Date.now();
      try {
        const key = new ApiClient(server.url, await server.newKey({ name: 'per minute' }));
        const statuses: number[] = [];
        // Four a second: the per-second limit never refuses, the minute's does at the 13th.
        for (let i = 0; i < 12; i++) {
          at(Math.floor(i / 4) * 1000);
          statuses.push((await key.get('/v1/permission')).status);
        }
        expect(statuses).toEqual(Array(12).fill(200));
        at(3000);
        expectLimited(await key.get('/v1/permission'), '57', 'minute');
        at(59_500);
        expectLimited(await key.get('/v1/permission'), '1', 'minute');
        at(60_000);
        expect((await key.get('/v1/permission')).status).toBe(200);
      } finally {
        server.app.ctx.clock = Date.now;
      }
    });

    it('reports the configured limits in usage-quota', async () => {
      const quota = await server.api.get('/v1/account/usage-quota');
      expect(quota.body.rateLimit).toEqual({ requestsPerMinute: 12, requestsPerSecond: 5 });
    });
  });
}

describe.skipIf(!haveRedis)(`/v1 rate limits shared by two nodes through Redis (${dialectName})`, () => {
  let server: TestServer;
  let second: Posthorn;
  beforeAll(async () => {
    const env = { REDIS_URL, POSTHORN_V1_RATE_PER_SECOND: '0', POSTHORN_V1_RATE_PER_MINUTE: '6' };
    server = await startTestServer(env);
    second = await startSecondNode(server, env);
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('counts one key across both nodes', async () => {
    const key = await server.newKey({ name: 'two nodes' });
    const answers: ApiResponse[] = [];
    for (let i = 0; i < 7; i++) {
      const api = new ApiClient(i % 2 ? second.url! : server.url, key);
      answers.push(await api.get('/v1/permission'));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(answers[6]!.body.errors[0].code).toBe('1429');
    expect(Number(answers[6]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe(`/v1 rate limits turned off (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_V1_RATE_PER_SECOND: '0', POSTHORN_V1_RATE_PER_MINUTE: '0' });
  });
  afterAll(async () => server?.close());

  it('never refuses with 0, and usage-quota says there is no limit', async () => {
    const t0 = Date.now();
    server.app.ctx.clock = () => t0;
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, () => server.api.get('/v1/permission')));
      expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    } finally {
      server.app.ctx.clock = Date.now;
    }
    expect((await server.api.get('/v1/account/usage-quota')).body.rateLimit).toEqual({
      requestsPerMinute: 2147483647,
      requestsPerSecond: 2147483647,
    });
  });
});
