// The limit counters: one contract, run against the in-memory store and the Redis store (a real
// Redis, POSTHORN_TEST_REDIS_URL or 127.0.0.1:6379), plus the small RESP client under the latter.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLimitStore, type LimitStore } from '../../src/store/limit-store.ts';
import { RedisLimitStore } from '../../src/store/redis-limit-store.ts';
import { RedisError, RespClient, encodeCommand, parseReply } from '../../src/store/resp-client.ts';
import { REDIS_URL, haveRedis } from '../helpers/redis.ts';

const stores: Array<[string, () => LimitStore]> = [
  ['memory', () => new MemoryLimitStore()],
  ['redis', () => new RedisLimitStore(REDIS_URL, `posthorn-test:${randomBytes(6).toString('hex')}:`)],
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

describe('RESP encoding and parsing', () => {
  it('encodes commands as arrays of bulk strings', () => {
    expect(encodeCommand(['SET', 'k', 'vä', 5]).toString()).toBe(
      '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvä\r\n$1\r\n5\r\n',
    );
  });

  it('parses every reply type, and waits for the rest of a partial one', () => {
    const reply = Buffer.from('*4\r\n:7\r\n$5\r\nhello\r\n$-1\r\n*1\r\n+OK\r\n-ERR wrong\r\n');
    const first = parseReply(reply, 0)!;
    expect(first.value).toEqual([7, 'hello', null, ['OK']]);
    const second = parseReply(reply, first.next)!;
    expect(second.value).toBeInstanceOf(RedisError);
    expect((second.value as RedisError).message).toBe('ERR wrong');
    expect(second.next).toBe(reply.length);
    for (let cut = 0; cut < first.next; cut++)
      expect(parseReply(reply.subarray(0, cut), 0), `cut at ${cut}`).toBeNull();
  });
});

describe.skipIf(!haveRedis)('RESP client against Redis', () => {
  it('pipelines commands and fails only the command Redis refuses', async () => {
    const client = new RespClient(REDIS_URL);
    const key = `posthorn-test:${randomBytes(6).toString('hex')}`;
    const [set, bad, get, del] = await Promise.allSettled([
      client.command(['SET', key, 'v']),
      client.command(['INCR', 'posthorn-test:no-such-command', 'extra']),
      client.command(['GET', key]),
      client.command(['DEL', key]),
    ]);
    expect(set).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(bad.status).toBe('rejected');
    expect(get).toEqual({ status: 'fulfilled', value: 'v' });
    expect(del).toEqual({ status: 'fulfilled', value: 1 });
    await client.close();
    await expect(client.command(['PING'])).rejects.toThrow(/closed/);
  });

  it('fails the commands of a connection whose AUTH is refused', async () => {
    const url = new URL(REDIS_URL);
    url.password = 'not-the-password';
    const client = new RespClient(url.toString());
    await expect(client.command(['PING'])).rejects.toThrow(/AUTH|WRONGPASS|password/i);
    await client.close();
  });

  it('rejects at once when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const client = new RespClient(`redis://127.0.0.1:${port}`);
    await expect(client.command(['PING'])).rejects.toThrow();
    await client.close();
  });
});
