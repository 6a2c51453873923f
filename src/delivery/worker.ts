// The delivery loop: claim due messages with a lease, screen them, and put each one through the
// delivery pipeline (pipeline.ts: build, transport, record). Bounded concurrency (slots.ts);
// transactional mail (priority 0) is claimed first; an accept in this process wakes the loop at once
// instead of waiting for the next poll. The relay transport admits sends by priority.
// A message gives its slot back as soon as its outcome is known and is then recorded in the next
// group commit; its lease stays renewed until that commit (leases.ts).
// While the store is unavailable the loop pauses (see StoreOutage); a message that could not be
// built or recorded because of it is never bounced: it goes back to the queue, and at the latest
// when the loop resumes every claim it holds but no longer works on is returned to the queue.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import type { MessagesTable } from '../store/schema.ts';
import { releaseAllLeases } from '../store/messages.ts';
import { StoreOutage } from '../services/store-outage.ts';
import { BackgroundLoop } from '../services/background-loop.ts';
import { randomAlnum } from '../domain/ids.ts';
import { MessageBuilder } from './build-message.ts';
import { OutcomeRecorder } from './outcome-recorder.ts';
import type { Transport } from './transports/transport.ts';
import { PriorityGate } from './priority-gate.ts';
import type { BuildPool } from './build-pool.ts';
import { DeliverySlots } from './slots.ts';
import { LeaseKeeper } from './leases.ts';
import { claimMessages, claimWindow } from './steps/claim.ts';
import { screenBatch } from './steps/screen.ts';
import { deliverMessage, type Pipeline } from './pipeline.ts';

export { reservedSlots } from './slots.ts';

/**
 * While bulk mail fills its share of the slots, due urgent mail is looked for this often (an accept in this process
 * wakes the loop at once).
 */
const URGENT_POLL_MS = 20;
/**
 * Outcomes are committed at most this long after they are known. Slots do not wait for the commit,
 * so a longer window costs no throughput and makes fewer, larger commits (each one an fsync on
 * SQLite, which blocks the event loop); it is also the window in which a killed process forgets
 * that a message was accepted by the relay (and sends it again after the restart).
 */
const OUTCOME_FLUSH_MS = 20;
const OUTCOME_BATCH = 256;
/**
 * Messages built at once, at least. Building happens in the build threads (build-pool.ts), which
 * take urgent messages first; the gate lets in what keeps them busy, and waiting builds by priority.
 */
const BUILDS_AT_ONCE = 8;

export class DeliveryWorker {
  readonly owner = `w-${process.pid}-${randomAlnum(6)}`;
  /** Set by notify(): new work was accepted, possibly urgent. */
  private newWork = false;
  /** When the loop last looked for urgent mail alone (bulk at its share of the slots). */
  private lastUrgentLook = 0;
  private readonly log: Logger;
  private readonly outage: StoreOutage;
  private readonly loop: BackgroundLoop;
  private readonly slots: DeliverySlots;
  private readonly leases: LeaseKeeper;
  private readonly recorder: OutcomeRecorder;
  private readonly pipeline: Pipeline;

  constructor(
    private readonly ctx: Context,
    private readonly transport: Transport | null, // null in capture mode
    pool: BuildPool,
  ) {
    const { worker } = ctx.config;
    this.log = ctx.log.child({ component: 'worker' });
    this.outage = new StoreOutage(this.log, 'delivery');
    this.loop = new BackgroundLoop({
      turn: () => this.turn(),
      outage: this.outage,
      log: this.log,
      errorMessage: 'delivery loop error',
      errorRestMs: () => worker.pollMs,
    });
    this.slots = new DeliverySlots(worker.concurrency, worker.batchSize, () => this.loop.wake());
    this.leases = new LeaseKeeper(ctx, this.owner, this.outage, this.log);
    this.recorder = new OutcomeRecorder(
      ctx.db,
      this.owner,
      this.log,
      ctx.config.suppression,
      OUTCOME_BATCH,
      OUTCOME_FLUSH_MS,
      // Past half the lease another worker may take the message over; until then an outcome waits
      // for the store to come back rather than have its message sent again.
      { retryForMs: (worker.leaseSeconds * 1000) / 2 },
    );
    this.pipeline = {
      builder: new MessageBuilder(
        ctx.db,
        ctx.config.returnPathDomain,
        pool,
        { secret: ctx.secret, publicUrl: ctx.config.publicUrl },
        ctx.clock,
      ),
      // Builds wait in the pool by priority; let in what keeps its threads busy, not more.
      buildGate: new PriorityGate(Math.max(BUILDS_AT_ONCE, pool.capacity)),
      transport,
      recorder: this.recorder,
      retry: worker,
      clock: ctx.clock,
    };
  }

  async start(): Promise<void> {
    if (this.ctx.dialect === 'sqlite') {
      const released = await releaseAllLeases(this.ctx.db, this.ctx.clock());
      if (released) this.log.info({ released }, 'returned messages of an interrupted run to the queue');
    }
    this.leases.start();
    this.loop.start();
  }

  /** Started and not stopping (what /readyz reports for a process that runs a worker). */
  get isRunning(): boolean {
    return this.loop.isRunning;
  }

  /** Messages claimed and not yet recorded (a stop waits for them). */
  get messagesInFlight(): number {
    return this.leases.active.size;
  }

  /** Called after an accept: there is work now. */
  notify(): void {
    this.newWork = true;
    this.loop.wake();
  }

  async stop(): Promise<void> {
    this.recorder.stopRetrying();
    this.newWork = true;
    await this.loop.stop();
    // Until every message is sent and its outcome committed (the recorder flushes on its own timer),
    // for the grace at most: then the transactions still in flight are cut, which answers them as
    // temporary failures, recorded and retried like any other.
    const { shutdownGraceMs } = this.ctx.config.worker;
    const graceEnds = Date.now() + shutdownGraceMs;
    while (this.leases.active.size > 0 && Date.now() < graceEnds) await sleep(10);
    if (this.leases.active.size > 0 && this.transport) {
      this.log.warn(
        { inFlight: this.leases.active.size, graceMs: shutdownGraceMs },
        'shutdown: grace over, cutting the transactions in flight (their messages are retried later)',
      );
      this.transport.abort(`the worker stopped (grace of ${shutdownGraceMs} ms over) before the next hop answered`);
    }
    while (this.leases.active.size > 0) await sleep(10);
    await this.recorder.drain();
    this.leases.stop();
    await this.transport?.close();
  }

  /** One turn of the loop; resolves to how long to rest before the next (null: there may be more due work). */
  private async turn(): Promise<number | null> {
    const { concurrency, batchSize, pollMs } = this.ctx.config.worker;
    const now = this.ctx.clock();
    // Only a turn whose statements succeeded may end a pause.
    let reachedStore = await this.leases.sweepIfDue(now);
    const newWork = this.newWork;
    this.newWork = false;
    const window = claimWindow({
      concurrency,
      batchSize,
      inFlight: this.slots.inFlight,
      bulkInFlight: this.slots.bulkInFlight,
      bulkCapacity: this.slots.bulkCapacity,
      refillAt: this.slots.refillAt,
      active: this.leases.active.size,
      newWork,
      urgentLookDue: now - this.lastUrgentLook >= URGENT_POLL_MS,
    });
    let claimedAll = false;
    if (window) {
      if (window.urgentOnly) this.lastUrgentLook = now;
      const claimed = await claimMessages(this.ctx, this.owner, now, window);
      reachedStore = true;
      if (claimed.length > 0) await this.dispatch(claimed);
      claimedAll = claimed.length === window.limit;
    }
    if (reachedStore && this.outage.succeeded()) await this.leases.releaseIdle();
    // Go round again at once when there may be more due work; poll briefly while messages are
    // in flight (their slots come free), slowly when idle (an accept here wakes the loop).
    if (claimedAll) return null;
    return this.leases.active.size > 0 ? Math.min(pollMs, URGENT_POLL_MS) : pollMs;
  }

  private async dispatch(batch: MessagesTable[]): Promise<void> {
    const verdicts = await screenBatch(this.ctx, batch);
    for (const m of batch) {
      this.slots.take(m);
      this.leases.active.add(m.id);
      const outcomeKnown = () => this.slots.release(m.id);
      void deliverMessage(this.pipeline, m, verdicts.get(m.id)!, outcomeKnown)
        .catch((error: unknown) => {
          if (!this.outage.failed(error))
            this.log.error({ err: error, messageId: m.id }, 'delivery failed unexpectedly');
        })
        .finally(() => {
          // Whatever happened, the lease is no longer renewed: if the outcome could not be
          // recorded, the row returns to the queue when its lease runs out.
          this.leases.active.delete(m.id);
          outcomeKnown();
        });
    }
  }
}
