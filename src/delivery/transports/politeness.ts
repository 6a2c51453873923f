// Politeness per destination domain: how many messages are in flight to it at once, how many are
// started per second, and how hard to back off when it tells us to slow down.
//
// - Concurrency: at most `connections` messages of a domain are being delivered at once. The cap
//   adapts (AIMD, as TCP and Postfix do): a throttle reply (421, "too many connections", rate
//   limits) halves it, and every round of successes at the current cap adds one back, up to the
//   configured limit.
// - Rate: a token bucket of `rate` messages per interval (burst: one interval's worth, at most the
//   connection limit).
// - Backoff: a domain whose every exchanger throttled us, or that answered a message with a
//   throttle reply, is suspended: 30 s, doubling while it keeps throttling, at most 15 min. Its
//   messages are deferred until then without a connection, so they do not hold the worker's slots
//   while other domains keep their rate.
// - Fairness: a few messages wait for a busy domain (as many as its cap); more would fill the
//   worker's slots with one domain's mail. Bulk messages beyond that are handed back untried, each
//   with its own slot time on the domain's schedule (its recent throughput), so they come back
//   spread out at the pace the domain takes them rather than all at once. Urgent mail always waits.
import { limitFor, type DomainLimit, type DomainLimits } from '../../domain/domain-limits.ts';

const URGENT_PRIORITY = 0;
const BACKOFF_FIRST_MS = 30_000;
const BACKOFF_MAX_MS = 15 * 60_000;
/** The cap is halved at most once per this window: one burst of 421s is one signal, not twenty. */
const DECREASE_COOLDOWN_MS = 2_000;
/** Throughput is measured over this many one-second buckets. */
const THROUGHPUT_WINDOW_S = 10;
/** Domains whose state is kept before idle ones are forgotten. */
const MAX_TRACKED_DOMAINS = 5000;
/** A domain's delivery time before any was measured. */
const ASSUMED_LATENCY_MS = 250;

export type Admission =
  | { kind: 'go'; done(result: 'ok' | 'throttled' | 'failed'): void }
  /** Suspended after throttling: defer until `until` (a delivery attempt that did not happen). */
  | { kind: 'suspended'; until: number; reason: string }
  /** The domain is busy: hand the message back untried, to come again at `until`. */
  | { kind: 'busy'; until: number };

interface Waiter {
  priority: number;
  resolve(admission: Admission): void;
}

class DomainState {
  active = 0;
  cap: number;
  successesAtCap = 0;
  lastDecrease = 0;
  suspendedUntil = 0;
  suspendReason = '';
  backoffMs = 0;
  waiting: Waiter[] = [];
  tokens: number;
  tokensAt: number;
  tokenTimer: NodeJS.Timeout | null = null;
  /** Completions per second, for the last THROUGHPUT_WINDOW_S seconds. */
  buckets = new Array<number>(THROUGHPUT_WINDOW_S).fill(0);
  bucketSecond = 0;
  /** The next free slot time handed to a message sent back for later. */
  scheduleCursor = 0;
  /** How long one delivery to the domain takes (moving average), for the pace of messages sent back. */
  latencyMs = ASSUMED_LATENCY_MS;

  constructor(
    readonly limit: DomainLimit,
    now: number,
  ) {
    this.cap = limit.connections;
    this.tokens = this.burst();
    this.tokensAt = now;
  }

  burst(): number {
    return this.limit.rate ? Math.max(1, Math.min(this.limit.rate.count, this.limit.connections)) : Infinity;
  }
}

export class Politeness {
  private readonly domains = new Map<string, DomainState>();

  constructor(
    private readonly limits: DomainLimits,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  private state(domain: string): DomainState {
    let s = this.domains.get(domain);
    if (!s) {
      if (this.domains.size >= MAX_TRACKED_DOMAINS) this.forgetIdle();
      s = new DomainState(limitFor(this.limits, domain), this.now());
      this.domains.set(domain, s);
    }
    return s;
  }

  /**
   * A mailing to a million addresses meets tens of thousands of domains; the state of one with
   * nothing in flight, nothing waiting, no backoff and its full cap says nothing worth keeping.
   */
  private forgetIdle(): void {
    const now = this.now();
    for (const [domain, s] of this.domains) {
      const idle = s.active === 0 && s.waiting.length === 0 && s.suspendedUntil <= now && s.backoffMs === 0;
      if (idle && s.cap === s.limit.connections && s.scheduleCursor <= now) this.domains.delete(domain);
    }
  }

  /** For tests and logs: the domain's current concurrency cap and whether it is suspended. */
  status(domain: string): { cap: number; active: number; waiting: number; suspendedUntil: number } {
    const s = this.state(domain);
    return { cap: s.cap, active: s.active, waiting: s.waiting.length, suspendedUntil: s.suspendedUntil };
  }

  admit(domain: string, priority: number): Promise<Admission> {
    const s = this.state(domain);
    const now = this.now();
    if (s.suspendedUntil > now) return Promise.resolve(this.suspension(s, now));
    if (s.waiting.length === 0 && this.startable(s, now)) return Promise.resolve(this.start(domain, s));
    if (priority > URGENT_PRIORITY && s.waiting.length >= s.cap)
      return Promise.resolve({ kind: 'busy', until: this.nextSlot(s, now) });
    return new Promise((resolve) => {
      const waiter = { priority, resolve };
      // Urgent before bulk, first come first served within a priority.
      const at = s.waiting.findIndex((w) => w.priority > priority);
      if (at < 0) s.waiting.push(waiter);
      else s.waiting.splice(at, 0, waiter);
      this.pump(domain, s);
    });
  }

  private suspension(s: DomainState, now: number): Admission {
    // Spread the returns over a quarter of the backoff, so the domain is not met by all of them at once.
    const until = s.suspendedUntil + Math.floor(this.random() * Math.max(1000, s.backoffMs / 4));
    return { kind: 'suspended', until: Math.max(until, now + 1000), reason: s.suspendReason };
  }

  private refill(s: DomainState, now: number): void {
    if (!s.limit.rate) return;
    const perMs = s.limit.rate.count / s.limit.rate.perMs;
    s.tokens = Math.min(s.burst(), s.tokens + (now - s.tokensAt) * perMs);
    s.tokensAt = now;
  }

  private startable(s: DomainState, now: number): boolean {
    if (s.active >= s.cap) return false;
    this.refill(s, now);
    return s.tokens >= 1;
  }

  private start(domain: string, s: DomainState): Admission {
    s.active++;
    if (s.limit.rate) s.tokens -= 1;
    let finished = false;
    const startedAt = this.now();
    return {
      kind: 'go',
      done: (result) => {
        if (finished) return;
        finished = true;
        s.active--;
        if (result === 'ok') s.latencyMs = 0.8 * s.latencyMs + 0.2 * Math.max(1, this.now() - startedAt);
        this.finish(s, result);
        this.pump(domain, s);
      },
    };
  }

  /** Admits waiting messages while there is room; wakes itself when a rate token is due. */
  private pump(domain: string, s: DomainState): void {
    const now = this.now();
    if (s.suspendedUntil > now) {
      for (const w of s.waiting.splice(0)) w.resolve(this.suspension(s, now));
      return;
    }
    while (s.waiting.length > 0 && this.startable(s, now)) s.waiting.shift()!.resolve(this.start(domain, s));
    if (s.waiting.length > 0 && s.active < s.cap && s.limit.rate && !s.tokenTimer) {
      const perMs = s.limit.rate.count / s.limit.rate.perMs;
      const wait = Math.max(1, Math.ceil((1 - s.tokens) / perMs));
      s.tokenTimer = setTimeout(() => {
        s.tokenTimer = null;
        this.pump(domain, s);
      }, wait);
      s.tokenTimer.unref();
    }
  }

  private finish(s: DomainState, result: 'ok' | 'throttled' | 'failed'): void {
    const now = this.now();
    if (result === 'ok') {
      this.countCompletion(s, now);
      s.backoffMs = 0;
      if (s.cap < s.limit.connections && ++s.successesAtCap >= s.cap) {
        s.cap++;
        s.successesAtCap = 0;
      }
    } else if (result === 'throttled') {
      this.throttled(s, now);
    }
  }

  /** A throttle reply from one exchanger: fewer connections from now on. */
  private throttled(s: DomainState, now: number): void {
    if (now - s.lastDecrease < DECREASE_COOLDOWN_MS) return;
    s.lastDecrease = now;
    s.cap = Math.max(1, Math.floor(s.cap / 2));
    s.successesAtCap = 0;
  }

  /** Signals that stop a domain for a while: every exchanger throttled us, or the reply to a message did. */
  suspend(domain: string, reason: string): number {
    const s = this.state(domain);
    const now = this.now();
    this.throttled(s, now);
    if (s.suspendedUntil > now) return s.suspendedUntil;
    s.backoffMs = s.backoffMs ? Math.min(BACKOFF_MAX_MS, s.backoffMs * 2) : BACKOFF_FIRST_MS;
    s.suspendedUntil = now + s.backoffMs;
    s.suspendReason = reason;
    this.pump(domain, s);
    return s.suspendedUntil;
  }

  /** Moves the throughput window to the current second, clearing the seconds that passed. */
  private advance(s: DomainState, now: number): number {
    const second = Math.floor(now / 1000);
    const gap = second - s.bucketSecond;
    for (let i = 1; i <= Math.min(gap, THROUGHPUT_WINDOW_S); i++)
      s.buckets[(s.bucketSecond + i) % THROUGHPUT_WINDOW_S] = 0;
    if (gap > 0) s.bucketSecond = second;
    return second;
  }

  private countCompletion(s: DomainState, now: number): void {
    s.buckets[this.advance(s, now) % THROUGHPUT_WINDOW_S]++;
  }

  /**
   * Messages per second the domain takes: as measured lately, or as its connections at its recent
   * delivery time would carry (the only estimate for a domain without history), whichever is more;
   * never above its rate limit.
   */
  private throughput(s: DomainState, now: number): number {
    this.advance(s, now);
    const measured = s.buckets.reduce((a, b) => a + b, 0) / THROUGHPUT_WINDOW_S;
    const capacity = (s.cap * 1000) / s.latencyMs;
    const limit = s.limit.rate ? (s.limit.rate.count * 1000) / s.limit.rate.perMs : Infinity;
    return Math.min(limit, Math.max(capacity, measured));
  }

  /** A slot time for a message sent back: after the ones already handed out, at the domain's pace. */
  private nextSlot(s: DomainState, now: number): number {
    const step = 1000 / this.throughput(s, now);
    s.scheduleCursor = Math.max(s.scheduleCursor, now + 500) + step;
    return Math.round(s.scheduleCursor);
  }
}
