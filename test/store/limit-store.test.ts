// The limit counters: one contract, run against the in-memory store and the Redis store (a real
// Redis, POSTHORN_TEST_REDIS_URL or 127.0.0.1:6379), plus how the Redis store behaves when Redis
// refuses it, is not there, or goes away and comes back.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLimitStore, type LimitStore } from '../../src/store/limit-store.ts';
import { RedisLimitStore } from '../../src/store/redis-limit-store.ts';
import { REDIS_URL, cuttableRelay, haveRedis } from '../helpers/redis.ts';
import { freePort } from '../helpers/child-server.ts';

const testPrefix = () => `posthorn-test:${randomBytes(6).toString('hex')}:`;

const stores: Array<[string, () => LimitStore]> = [
  ['memory', () => new MemoryLimitStore()],
  ['redis', () => new RedisLimitStore(REDIS_URL, { prefix: testPrefix() })],
];

for (const [name, make] of stores) {
  describe.skipIf(name === 'redis' && !haveRedis)(`LimitStore (${name})`, () => {
    const store = make();
    afterAll(() => store.close());
    const T = 1_700_000_000_000;

    it('counts requests in a window that opens with the first one', async () => {
      expect(await store.hit('k1', T, 60_000)).toEqual({ count: 1, resetAt: T + 60_000 });
      expect(await store.hit('k1', T + 30_000, 60_000)).toEqual({ count: 2, resetAt: T + 60_000 });
      expect(await store.hit('k2', T + 30_000, 60_000)).toEqual({ count: 1, resetAt: T + 90_000 });
      expect(await store.hit('k1', T + 59_999, 60_000)).toEqual({ count: 3, resetAt: T + 60_000 });
      expect(await store.hit('k1', T + 60_000, 60_000)).toEqual({ count: 1, resetAt: T + 120_000 });
    });

    it('hands out at most max slots, takes them back, and drops stale ones', async () => {
      expect(await store.acquire('c', 'a', 2, T, 1000)).toEqual({ ok: true, active: 1 });
      expect(await store.acquire('c', 'b', 2, T, 1000)).toEqual({ ok: true, active: 2 });
      expect(await store.acquire('c', 'c', 2, T, 1000)).toEqual({ ok: false, active: 2 });
      await store.release('c', 'a');
      expect(await store.acquire('c', 'd', 2, T + 10, 1000)).toEqual({ ok: true, active: 2 });
      // 'b' was taken at T: at T + 1000 it counts as left behind by a dead node.
      expect(await store.acquire('c', 'e', 2, T + 1000, 1000)).toEqual({ ok: true, active: 2 });
      await store.release('c', 'unknown');
    });

    it('counts failures until resetMs pass without one, and keeps the later lock', async () => {
      expect(await store.recordFailure('ip', T, 3_600_000)).toBe(1);
      expect(await store.recordFailure('ip', T + 3_599_999, 3_600_000)).toBe(2);
      expect(await store.recordFailure('ip', T + 2 * 3_599_999, 3_600_000)).toBe(3);
      expect(await store.recordFailure('ip', T + 2 * 3_599_999 + 3_600_000, 3_600_000)).toBe(1);
      expect(await store.lockedUntil('other')).toBe(0);
      await store.lock('ip', T, T + 60_000);
      await store.lock('ip', T, T + 30_000);
      expect(await store.lockedUntil('ip')).toBe(T + 60_000);
      await store.lock('fresh', T, T + 5_000);
      expect(await store.lockedUntil('fresh')).toBe(T + 5_000);
    });
  });
}

describe.skipIf(!haveRedis)('the Redis store when Redis fails', () => {
  const T = 1_700_000_000_000;

  it('refuses its commands when Redis refuses the credentials, and reports the error', async () => {
    // A user Redis does not know (ACL, Redis 6+): refused whether or not the default user has a password.
    const url = new URL(REDIS_URL);
    url.username = 'posthorn-no-such-user';
    url.password = 'not-the-password';
    const errors: Error[] = [];
    const store = new RedisLimitStore(url.toString(), { prefix: testPrefix(), onError: (e) => errors.push(e) });
    await expect(store.hit('k', T, 1000)).rejects.toThrow();
    await store.close();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/AUTH|WRONGPASS|password/i);
  });

  it('refuses at once when nothing listens, without an unhandled error', async () => {
    const errors: Error[] = [];
    const store = new RedisLimitStore(`redis://127.0.0.1:${await freePort()}`, {
      prefix: testPrefix(),
      onError: (e) => errors.push(e),
    });
    const started = Date.now();
    await expect(store.hit('k', T, 1000)).rejects.toThrow();
    await expect(store.lockedUntil('ip')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(errors.length).toBeGreaterThan(0);
    await store.close();
  });

  it('fails fast while the connection is lost and counts again once it is back', async () => {
    const relay = await cuttableRelay(new URL(REDIS_URL));
    const errors: Error[] = [];
    const store = new RedisLimitStore(relay.url, { prefix: testPrefix(), onError: (e) => errors.push(e) });
    try {
      expect(await store.hit('k', T, 60_000)).toEqual({ count: 1, resetAt: T + 60_000 });
      relay.cut();
      await expect(store.hit('k', T + 1, 60_000)).rejects.toThrow();
      relay.heal();
      // ioredis reconnects by itself; the count kept in Redis continues where it was.
      let hit: { count: number } | null = null;
      for (let i = 0; i < 100 && !hit; i++) {
        hit = await store.hit('k', T + 2, 60_000).catch(() => null);
        if (!hit) await new Promise((r) => setTimeout(r, 100));
      }
      expect(hit).toEqual({ count: 2, resetAt: T + 60_000 });
    } finally {
      await store.close();
      await relay.close();
    }
  });
});
