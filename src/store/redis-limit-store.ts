// The limit counters in Redis, so every Posthorn node counts against the same limits. Each
// operation is one Lua script (ioredis sends it by EVALSHA, loading it on first use): Redis runs it
// atomically, so concurrent nodes never lose a count. Times come from the caller's clock (passed
// in), like the in-memory store; key expiry is only garbage collection.
//
// When Redis is unreachable the store fails fast instead of queueing: every command is refused at
// once while the connection is down (ioredis reconnects in the background), and Limits lets the
// request pass unlimited (fail open, logged). Only the first connection is waited for, so a
// freshly started node does not serve its first requests unlimited.
import { Redis } from 'ioredis';
import type { LimitStore } from './limit-store.ts';

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
/** A command without a reply after this long fails (and the limits pass) rather than holding the request. */
const COMMAND_TIMEOUT_MS = 2000;
/** Reconnection delay: growing with each failed attempt, at most this. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** The scripts above as commands of the client (defineCommand). */
interface LimitScripts {
  limitHit(key: string, now: number, windowMs: number): Promise<[number, string]>;
  limitAcquire(key: string, now: number, max: number, staleMs: number, token: string): Promise<[number, number]>;
  limitFailure(key: string, now: number, resetMs: number): Promise<number>;
  limitLock(key: string, until: number, ttl: number): Promise<number>;
}

export interface RedisLimitStoreOptions {
  /** `prefix` separates deployments (and test servers) that share one Redis. */
  prefix: string;
  /** Told about connection errors (the commands that fail meanwhile are refused, not queued). */
  onError?: (err: Error) => void;
}

export class RedisLimitStore implements LimitStore {
  private readonly client: Redis & LimitScripts;
  private readonly prefix: string;
  /** Settles once the first connection attempt succeeded or failed. */
  private readonly firstAttempt: Promise<void>;

  constructor(url: string, options: RedisLimitStoreOptions) {
    this.prefix = options.prefix;
    const client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
      scripts: {
        limitHit: { lua: HIT, numberOfKeys: 1 },
        limitAcquire: { lua: ACQUIRE, numberOfKeys: 1 },
        limitFailure: { lua: FAILURE, numberOfKeys: 1 },
        limitLock: { lua: LOCK, numberOfKeys: 1 },
      },
    }) as Redis & LimitScripts;
    // Without a listener, ioredis reports every failed (re)connection as an unhandled error event.
    client.on('error', (err: Error) => options.onError?.(err));
    this.firstAttempt = new Promise<void>((resolve) => {
      client.once('ready', resolve);
      client.once('error', () => resolve());
      client.once('end', resolve);
    });
    this.client = client;
  }

  async hit(key: string, now: number, windowMs: number) {
    await this.firstAttempt;
    const [count, resetAt] = await this.client.limitHit(`${this.prefix}rate:${key}`, now, windowMs);
    return { count, resetAt: Number(resetAt) };
  }

  async acquire(key: string, token: string, max: number, now: number, staleMs: number) {
    await this.firstAttempt;
    const [ok, active] = await this.client.limitAcquire(`${this.prefix}slots:${key}`, now, max, staleMs, token);
    return { ok: ok === 1, active };
  }

  async release(key: string, token: string) {
    await this.firstAttempt;
    await this.client.zrem(`${this.prefix}slots:${key}`, token);
  }

  async recordFailure(key: string, now: number, resetMs: number) {
    await this.firstAttempt;
    return this.client.limitFailure(`${this.prefix}auth:${key}`, now, resetMs);
  }

  async lock(key: string, now: number, until: number) {
    await this.firstAttempt;
    const ttl = Math.max(1, until - now) + LOCK_TTL_MARGIN_MS;
    await this.client.limitLock(`${this.prefix}auth:${key}`, until, ttl);
  }

  async lockedUntil(key: string) {
    await this.firstAttempt;
    const value = await this.client.hget(`${this.prefix}auth:${key}`, 'u');
    return value === null ? 0 : Number(value);
  }

  async close() {
    // QUIT lets the commands already sent finish; when the connection is down there is nothing to wait for.
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
