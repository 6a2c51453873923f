// Admission rules of the APIs: on the marketing API requests per API key and minute and requests
// in flight per API key; on the transactional API requests per API key and second and minute; the
// brute-force lock per surface and client IP. The counters live in a LimitStore: in memory for
// a single node, in Redis (REDIS_URL) when several nodes must share them. All times come from
// ctx.clock, read on every call.
import { createHash, randomUUID } from 'node:crypto';
import type { Context } from '../context.ts';
import { FAILURE_WINDOW_MS, LOCK_CAP_MS, lockAfterFailure, lockKey, type LockSurface } from '../domain/brute-force.ts';
import { MemoryLimitStore, type LimitStore } from '../store/limit-store.ts';
import { RedisLimitStore } from '../store/redis-limit-store.ts';

const RATE_WINDOW_MS = 60_000;
/** A slot held longer than this is taken to belong to a node that died, and is no longer counted. */
const SLOT_STALE_MS = 10 * 60_000;
const WARN_EVERY_MS = 10_000;

export interface RateState {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetAt: number; // epoch ms
}

export interface TransactionalRateState {
  allowed: boolean;
  /** The limit that refused the request (or the first one counted, when none did). */
  limit: number;
  unit: 'second' | 'minute';
  /** Until that limit's window ends. */
  retryAfterMs: number;
}

export interface SlotState {
  ok: boolean;
  limit: number;
  remaining: number;
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

export class Limits {
  private lastWarning = 0;

  constructor(
    private readonly ctx: Context,
    readonly store: LimitStore,
  ) {}

  get ratePerMinute() {
    return this.ctx.config.rateLimitPerMinute;
  }
  get concurrency() {
    return this.ctx.config.concurrencyLimit;
  }

  /** Counts the request against the key's minute; null when the limit is off or the store is down. */
  async countRequest(apiKeyId: string): Promise<RateState | null> {
    const limit = this.ratePerMinute;
    if (limit === 0) return null;
    const hit = await this.guard(() => this.store.hit(apiKeyId, this.ctx.clock(), RATE_WINDOW_MS));
    if (!hit) return null;
    return { allowed: hit.count <= limit, limit, remaining: Math.max(0, limit - hit.count), resetAt: hit.resetAt };
  }

  /**
   * Counts a transactional (/v1) request of the key in its second and its minute (each window
   * opens with the key's first request in it). Null when both limits are off or the store is down;
   * otherwise the tightest refusal, if any.
   */
  async countTransactionalRequest(apiKeyId: string): Promise<TransactionalRateState | null> {
    const { perSecond, perMinute } = this.ctx.config.v1RateLimit;
    const now = this.ctx.clock();
    const windows = [
      { limit: perSecond, windowMs: 1000, key: `v1s:${apiKeyId}`, unit: 'second' as const },
      { limit: perMinute, windowMs: RATE_WINDOW_MS, key: `v1m:${apiKeyId}`, unit: 'minute' as const },
    ].filter((w) => w.limit > 0);
    if (windows.length === 0) return null;
    const hits = await Promise.all(windows.map((w) => this.guard(() => this.store.hit(w.key, now, w.windowMs))));
    let state: TransactionalRateState | null = null;
    windows.forEach((w, i) => {
      const hit = hits[i];
      if (!hit) return;
      const refused = hit.count > w.limit;
      const retryAfterMs = Math.max(0, hit.resetAt - now);
      if (!state || (refused && (state.allowed || retryAfterMs > state.retryAfterMs)))
        state = { allowed: !refused, limit: w.limit, unit: w.unit, retryAfterMs };
    });
    return state;
  }

  /** Takes one of the key's concurrent slots; null when the limit is off or the store is down. */
  async takeSlot(apiKeyId: string): Promise<SlotState | null> {
    const limit = this.concurrency;
    if (limit === 0) return null;
    const token = randomUUID();
    const got = await this.guard(() => this.store.acquire(apiKeyId, token, limit, this.ctx.clock(), SLOT_STALE_MS));
    if (!got) return null;
    let released = !got.ok;
    return {
      ok: got.ok,
      limit,
      remaining: Math.max(0, limit - got.active),
      release: () => {
        if (released) return;
        released = true;
        void this.guard(() => this.store.release(apiKeyId, token));
      },
    };
  }

  /** Signups through the public form per client IP and window (a person signs up once or twice). */
  readonly signupsPerWindow = 5;
  readonly signupWindowMs = 10 * 60_000;

  /** Counts a public-form signup from the IP; false when the IP is over the limit. */
  async allowSignup(ip: string): Promise<boolean> {
    const hit = await this.guard(() => this.store.hit(`signup:${ip}`, this.ctx.clock(), this.signupWindowMs));
    return !hit || hit.count <= this.signupsPerWindow;
  }

  /** Milliseconds the client IP stays locked on this surface; 0 when it is not locked. */
  async lockRemaining(surface: LockSurface, ip: string): Promise<number> {
    if (!this.ctx.config.authLock) return 0;
    const until = await this.guard(() => this.store.lockedUntil(lockKey(surface, ip)));
    // Never more than the cap, whatever an older lock in a shared store says.
    return until ? Math.min(LOCK_CAP_MS, Math.max(0, until - this.ctx.clock())) : 0;
  }

  /** Counts a failed authentication from the IP on this surface and locks it when the schedule says so. */
  async recordAuthFailure(surface: LockSurface, ip: string): Promise<void> {
    if (!this.ctx.config.authLock) return;
    const key = lockKey(surface, ip);
    const now = this.ctx.clock();
    const failures = await this.guard(() => this.store.recordFailure(key, now, FAILURE_WINDOW_MS));
    const lockMs = failures ? lockAfterFailure(failures) : 0;
    if (lockMs > 0) await this.guard(() => this.store.lock(key, now, now + lockMs));
  }

  close() {
    return this.store.close();
  }

  // Limits protect the service; when their store is unreachable, requests pass (logged) rather
  // than the whole API failing with it.
  private async guard<T>(op: () => Promise<T>): Promise<T | null> {
    try {
      return await op();
    } catch (err) {
      const now = Date.now();
      if (now - this.lastWarning > WARN_EVERY_MS) {
        this.lastWarning = now;
        this.ctx.log.warn({ err }, 'the limit store is unavailable; requests pass unlimited until it is back');
      }
      return null;
    }
  }
}

const byContext = new WeakMap<Context, Limits>();

/** The limits of one running Posthorn (one per context, so test servers never share counters). */
export function limitsFor(ctx: Context): Limits {
  let limits = byContext.get(ctx);
  if (!limits) {
    limits = new Limits(ctx, createLimitStore(ctx));
    byContext.set(ctx, limits);
  }
  return limits;
}

function createLimitStore(ctx: Context): LimitStore {
  if (!ctx.config.redisUrl) return new MemoryLimitStore();
  // Nodes of one deployment share the secret (it is kept in their database), so they share the
  // namespace; another deployment on the same Redis gets its own.
  const namespace = createHash('sha256').update(`limits:${ctx.secret}`).digest('hex').slice(0, 16);
  let lastWarning = 0;
  return new RedisLimitStore(ctx.config.redisUrl, {
    prefix: `posthorn:${namespace}:`,
    // Reconnection attempts fail every few seconds while Redis is down: one line now and then is enough.
    onError: (err) => {
      const now = Date.now();
      if (now - lastWarning < WARN_EVERY_MS) return;
      lastWarning = now;
      ctx.log.warn({ err }, 'cannot reach Redis (REDIS_URL); the limits pass requests until it is back');
    },
  });
}
