// The limits of two Posthorn processes (`posthorn start`, as an operator runs them) on one database
// and one Redis: both count against the same limits, and a process whose connection to Redis is
// cut keeps serving (limits open, no headers) and counts again once Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { REDIS_URL, cuttableRelay, haveRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/server.ts';

describe.skipIf(!haveRedis)(`limits of two processes sharing Redis (${dialectName})`, () => {
  let db: TestDatabase | undefined;
  let relay: Awaited<ReturnType<typeof cuttableRelay>> | undefined;
  const nodes: ChildServer[] = [];
  let key: string;

  beforeAll(async () => {
    const database = (db = await createTestDatabase());
    // The second process reaches Redis through a relay the test can cut.
    const cuttable = (relay = await cuttableRelay(new URL(REDIS_URL)));
    const env = {
      DATABASE_URL: database.url,
      POSTHORN_DATA_DIR: database.dataDir,
      POSTHORN_RATE_LIMIT_PER_MINUTE: '6',
      POSTHORN_V1_RATE_PER_SECOND: '0',
      POSTHORN_V1_RATE_PER_MINUTE: '4',
    };
    nodes.push(await startChildServer({ ...env, REDIS_URL }, { timeoutMs: 150_000 }));
    key = nodes[0].firstKey!;
    nodes.push(
      await startChildServer({ ...env, REDIS_URL: cuttable.url, POSTHORN_ROLE: 'api' }, { timeoutMs: 150_000 }),
    );
  }, 320_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await relay?.close();
    await db?.drop();
  });

  it('counts one key of the marketing API across both processes', async () => {
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await nodes[i % 2].api(key).get('/api/v1/whoami'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['5', '4', '3', '2', '1', '0', '0']);
    expect(Number(answers[6].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('counts one key of the transactional API across both processes', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await nodes[i % 2].api(key).get('/v1/permission'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429]);
    expect(answers[4].body.errors[0].code).toBe('1429');
  });

  it('keeps serving, unlimited, while its Redis connection is cut, and counts again once it is back', async () => {
    const second = nodes[1];
    relay!.cut();
    // The key is over its minute's limit (first test): with the counters out of reach it passes (fail open).
    for (let i = 0; i < 4; i++) {
      const res = await second.api(key).get('/api/v1/whoami');
      expect(res.status, second.output()).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
    relay!.heal();
    // ioredis reconnects by itself, and the count kept in Redis applies again; the process never went away.
    const counted = await waitFor(async () => {
      const res = await second.api(key).get('/api/v1/whoami');
      return res.headers.get('x-ratelimit-limit') ? res : null;
    }, 15_000);
    expect(counted.status).toBe(429);
    expect(second.process.exitCode).toBeNull();
  });
});
