// The limit counters in Redis, so every Posthorn node counts against the same limits. Each
// operation is one Lua script: Redis runs it atomically, so concurrent nodes never lose a count.
// Times come from the caller's clock (passed in), like the in-memory store; key expiry is only
// garbage collection.
import type { LimitStore } from './limit-store.ts';
import { RespClient, type RespValue } from './resp-client.ts';

const HIT = `
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local reset = tonumber(redis.call('HGET', KEYS[1], 'r'))
local count
if (not reset) or now >= reset or now < reset - 2 * win then
  reset = now + win
  count = 1
  redis.call('HSET', KEYS[1], 'r', reset, 'c', 1)
else
  count = redis.call('HINCRBY', KEYS[1], 'c', 1)
end
redis.call('PEXPIRE', KEYS[1], win * 2)
return {count, tostring(reset)}`;

const ACQUIRE = `
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local stale = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - stale)
local n = redis.call('ZCARD', KEYS[1])
if n >= max then return {0, n} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], stale)
return {1, n + 1}`;

const FAILURE = `
local now = tonumber(ARGV[1])
local reset = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'l'))
local count = 1
if last and now - last < reset then count = redis.call('HINCRBY', KEYS[1], 'c', 1)
else redis.call('HSET', KEYS[1], 'c', 1) end
redis.call('HSET', KEYS[1], 'l', ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < reset then redis.call('PEXPIRE', KEYS[1], reset) end
return count`;

const LOCK = `
local untilMs = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'u')) or 0
if untilMs > current then redis.call('HSET', KEYS[1], 'u', ARGV[1]) end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

// Keys outlive a lock by this much, so the lock's end is still readable just after it passed.
const LOCK_TTL_MARGIN_MS = 60_000;

export class RedisLimitStore implements LimitStore {
  private readonly client: RespClient;

  /** `prefix` separates deployments (and test servers) that share one Redis. */
  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.client = new RespClient(url);
  }

  private eval(script: string, key: string, args: Array<string | number>): Promise<RespValue> {
    return this.client.command(['EVAL', script, 1, this.prefix + key, ...args]);
  }

  async hit(key: string, now: number, windowMs: number) {
    const [count, resetAt] = (await this.eval(HIT, `rate:${key}`, [now, windowMs])) as [number, string];
    return { count, resetAt: Number(resetAt) };
  }

  async acquire(key: string, token: string, max: number, now: number, staleMs: number) {
    const [ok, active] = (await this.eval(ACQUIRE, `slots:${key}`, [now, max, staleMs, token])) as [number, number];
    return { ok: ok === 1, active };
  }

  async release(key: string, token: string) {
    await this.client.command(['ZREM', `${this.prefix}slots:${key}`, token]);
  }

  async recordFailure(key: string, now: number, resetMs: number) {
    return (await this.eval(FAILURE, `auth:${key}`, [now, resetMs])) as number;
  }

  async lock(key: string, now: number, until: number) {
    const ttl = Math.max(1, until - now) + LOCK_TTL_MARGIN_MS;
    await this.eval(LOCK, `auth:${key}`, [until, ttl]);
  }

  async lockedUntil(key: string) {
    const value = await this.client.command(['HGET', `${this.prefix}auth:${key}`, 'u']);
    return value === null ? 0 : Number(value);
  }

  close() {
    return this.client.close();
  }
}
