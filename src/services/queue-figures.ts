// The outbox figures of /metrics and GET /v1/metrics/now, read from the database (so they are the
// same whichever process answers) and kept for a moment: a dashboard polling every second, or
// several Prometheus servers scraping, cost one query per figure and second, not one per request.
import type { Context } from '../context.ts';
import {
  accountQueueDepth,
  accountThroughputSince,
  queueDepth,
  webhookBacklog,
  type QueueDepth,
} from '../store/ops-figures.ts';

const FRESH_MS = 1000;
const WINDOW_MS = 60_000;
/** Accounts whose figures are kept at once; beyond it the oldest are dropped. */
const ACCOUNTS_KEPT = 10_000;

export interface NowFigures {
  queue: QueueDepth;
  /** Injection events of the last minute, per second. */
  acceptedPerSecond: number;
  /** Delivery events (delivered or captured) of the last minute, per second. */
  deliveredPerSecond: number;
  /** ISO-8601 time the figures were read. */
  at: string;
}

/** One value read at most every FRESH_MS; callers at the same moment share the read. */
class Fresh<T> {
  private value: { at: number; promise: Promise<T> } | null = null;

  constructor(
    private readonly clock: () => number,
    private readonly read: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    const now = this.clock();
    if (this.value && now - this.value.at < FRESH_MS) return this.value.promise;
    const promise = this.read();
    const entry = { at: now, promise };
    this.value = entry;
    // A failed read is not kept: the next caller tries again.
    promise.catch(() => {
      if (this.value === entry) this.value = null;
    });
    return promise;
  }
}

export class QueueFigures {
  private readonly depth: Fresh<QueueDepth>;
  private readonly backlog: Fresh<{ batches: number; events: number }>;
  private readonly accounts = new Map<string, Fresh<NowFigures>>();

  constructor(private readonly ctx: Context) {
    this.depth = new Fresh(ctx.clock, () => queueDepth(ctx.db, ctx.dialect));
    this.backlog = new Fresh(ctx.clock, () => webhookBacklog(ctx.db));
  }

  /** The whole outbox by status. */
  queueDepth(): Promise<QueueDepth> {
    return this.depth.get();
  }

  /** Webhook batches waiting to be delivered (first tries and retries) and the events in them. */
  webhookBacklog(): Promise<{ batches: number; events: number }> {
    return this.backlog.get();
  }

  /** One account's outbox and its accepted/delivered rates over the last minute. */
  now(accountId: string): Promise<NowFigures> {
    let figures = this.accounts.get(accountId);
    if (!figures) {
      if (this.accounts.size >= ACCOUNTS_KEPT) this.accounts.delete(this.accounts.keys().next().value!);
      figures = new Fresh(this.ctx.clock, () => this.readNow(accountId));
      this.accounts.set(accountId, figures);
    }
    return figures.get();
  }

  private async readNow(accountId: string): Promise<NowFigures> {
    const now = this.ctx.clock();
    const [queue, recent] = await Promise.all([
      accountQueueDepth(this.ctx.db, accountId),
      accountThroughputSince(this.ctx.db, accountId, now - WINDOW_MS),
    ]);
    const perSecond = (n: number) => Math.round((n / (WINDOW_MS / 1000)) * 100) / 100;
    return {
      queue,
      acceptedPerSecond: perSecond(recent.accepted),
      deliveredPerSecond: perSecond(recent.delivered),
      at: new Date(now).toISOString(),
    };
  }
}
