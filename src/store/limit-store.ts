// The counters behind rate limits, concurrency limits and the brute-force lock. One small interface
// with two implementations: in memory (one node) and Redis (several nodes share the counters).
// Every operation takes `now` from the caller, so the policy runs on the context's clock.

export interface LimitStore {
  /** Counts one request in the key's window, which opens with its first request and lasts windowMs. */
  hit(key: string, now: number, windowMs: number): Promise<{ count: number; resetAt: number }>;
  /**
   * Takes one of `max` slots for `token` unless all are taken; `active` counts the slots in use
   * afterwards. Slots older than staleMs are dropped, so a node that died cannot hold them forever.
   */
  acquire(
    key: string,
    token: string,
    max: number,
    now: number,
    staleMs: number,
  ): Promise<{ ok: boolean; active: number }>;
  release(key: string, token: string): Promise<void>;
  /** Counts one failure; the count starts again when resetMs passed since the previous failure. */
  recordFailure(key: string, now: number, resetMs: number): Promise<number>;
  /** Locks the key until `until` (epoch ms); a later lock already in place is kept. */
  lock(key: string, now: number, until: number): Promise<void>;
  /** The end of the key's lock (epoch ms), 0 when it was never locked. */
  lockedUntil(key: string): Promise<number>;
  close(): Promise<void>;
}

interface Failures {
  count: number;
  last: number;
  until: number;
  resetMs: number;
}

/** Sweeps expired entries every this many writes, so a flood of client IPs cannot grow memory forever. */
const SWEEP_EVERY = 10_000;

export class MemoryLimitStore implements LimitStore {
  private windows = new Map<string, { count: number; resetAt: number }>();
  private slots = new Map<string, Map<string, number>>();
  private failures = new Map<string, Failures>();
  private writes = 0;

  async hit(key: string, now: number, windowMs: number) {
    this.maybeSweep(now);
    let w = this.windows.get(key);
    // A clock that went back by more than a window also opens a new one.
    if (!w || now >= w.resetAt || now < w.resetAt - 2 * windowMs) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, resetAt: w.resetAt };
  }

  async acquire(key: string, token: string, max: number, now: number, staleMs: number) {
    let held = this.slots.get(key);
    if (!held) this.slots.set(key, (held = new Map<string, number>()));
    for (const [t, at] of held) if (at <= now - staleMs) held.delete(t);
    if (held.size >= max) return { ok: false, active: held.size };
    held.set(token, now);
    return { ok: true, active: held.size };
  }

  async release(key: string, token: string) {
    const held = this.slots.get(key);
    if (!held) return;
    held.delete(token);
    if (held.size === 0) this.slots.delete(key);
  }

  async recordFailure(key: string, now: number, resetMs: number) {
    this.maybeSweep(now);
    const f = this.failures.get(key);
    if (!f || now - f.last >= resetMs) {
      this.failures.set(key, { count: 1, last: now, until: f?.until ?? 0, resetMs });
      return 1;
    }
    f.count++;
    f.last = now;
    return f.count;
  }

  async lock(key: string, _now: number, until: number) {
    const f = this.failures.get(key);
    if (f) f.until = Math.max(f.until, until);
    else this.failures.set(key, { count: 0, last: 0, until, resetMs: 0 });
  }

  async lockedUntil(key: string) {
    return this.failures.get(key)?.until ?? 0;
  }

  async close() {}

  private maybeSweep(now: number) {
    if (++this.writes % SWEEP_EVERY !== 0) return;
    for (const [k, w] of this.windows) if (now >= w.resetAt) this.windows.delete(k);
    for (const [k, f] of this.failures) if (now - f.last >= f.resetMs && now >= f.until) this.failures.delete(k);
  }
}
