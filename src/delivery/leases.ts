// The worker's leases on the messages it works on. While a message is being worked on (its outcome
// being recorded included), its lease is renewed a few times per lease, so a lease runs out only
// when the worker is gone (or gave up on the message); any worker's sweep then returns the row to
// the queue. Our own leases are renewed before each sweep (other workers must see them alive), and
// the sweep spares our own messages in flight: a stalled event loop, which makes the renewals late,
// must never hand them to the queue again.
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { releaseExpiredLeases, releaseIdleOwnLeases, renewLeases } from '../store/messages.ts';
import type { StoreOutage } from '../services/store-outage.ts';

export class LeaseKeeper {
  /** Ids of the messages being worked on now: the leases to keep alive. */
  readonly active = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private lastSweep = 0;

  constructor(
    private readonly ctx: Context,
    private readonly owner: string,
    private readonly outage: StoreOutage,
    private readonly log: Logger,
  ) {}

  /** Leases are renewed and expired ones swept a few times per lease, at most every 5 s. */
  get sweepIntervalMs(): number {
    return Math.max(50, Math.min(5000, Math.floor((this.ctx.config.worker.leaseSeconds * 1000) / 3)));
  }

  /** Renews on a timer of its own too: a loop busy sending must not let the leases run out. */
  start(): void {
    this.timer = setInterval(() => void this.renew(), this.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Returns false when the leases could not be renewed. */
  async renew(): Promise<boolean> {
    if (this.active.size === 0) return true;
    try {
      await renewLeases(
        this.ctx.db,
        this.ctx.dialect,
        this.owner,
        [...this.active],
        this.ctx.clock(),
        this.ctx.config.worker.leaseSeconds * 1000,
      );
      return true;
    } catch (error) {
      if (!this.outage.failed(error)) this.log.error({ err: error }, 'could not renew leases');
      return false;
    }
  }

  /**
   * Once per sweep interval: renews our leases, then returns every expired lease (another worker's,
   * gone) to the queue. True when it did both, i.e. reached the store.
   */
  async sweepIfDue(now: number): Promise<boolean> {
    if (now - this.lastSweep < this.sweepIntervalMs) return false;
    this.lastSweep = now;
    if (!(await this.renew())) return false;
    await releaseExpiredLeases(this.ctx.db, this.ctx.dialect, this.ctx.clock(), {
      owner: this.owner,
      ids: this.active,
    });
    return true;
  }

  /** After an outage: every claim we hold but no longer work on goes back to the queue. */
  async releaseIdle(): Promise<void> {
    const released = await releaseIdleOwnLeases(this.ctx.db, this.owner, this.active, this.ctx.clock());
    if (released) this.log.info({ released }, 'returned messages held during the outage to the queue');
  }
}
