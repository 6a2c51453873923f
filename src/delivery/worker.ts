// The delivery loop: claim due messages with a lease, build each one, hand it to the transport
// and record what happened. Bounded concurrency; transactional mail (priority 0) is claimed first;
// an accept in this process wakes the loop at once instead of waiting for the next poll.
// Transactional mail never waits for a free slot: bulk mail may hold at most all but a few
// reserved slots (see `reservedSlots`), and the relay transport admits sends by priority.
// A message gives its slot back as soon as its outcome is known (the relay's reply) and is then
// recorded in the next group commit; its lease stays renewed until that commit. A slot held until
// the commit would idle an SMTP connection for the flush delay and the fsync.
// While a message is being worked on, the worker keeps renewing its lease, so a lease runs out
// only when the worker is gone (or gave up on the message); any worker's sweep then returns the row
// to the queue.
// While the store is unavailable the loop pauses (see StoreOutage); a message that could not be
// built or recorded because of it is never bounced: it goes back to the queue, and at the latest
// when the loop resumes every claim it holds but no longer works on is returned to the queue.
import type { Logger } from 'pino';
import type { Context } from '../services/context.ts';
import type { MessagesTable } from '../store/schema.ts';
import {
  claimDueMessages,
  releaseAllLeases,
  releaseExpiredLeases,
  releaseIdleOwnLeases,
  renewLeases,
  type MessageOutcome,
} from '../store/messages.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { transactionalTransmissionIds } from '../store/transmissions.ts';
import { unsyncedTransaction } from '../store/unsynced-write.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { isStoreUnavailable } from '../store/store-errors.ts';
import { StoreOutage } from '../services/store-outage.ts';
import { classifyReply } from '../domain/bounce-classes.ts';
import { suppressionApplies } from '../domain/suppression-policy.ts';
import { nextAttemptDelayMs } from '../domain/backoff.ts';
import { randomAlnum } from '../domain/ids.ts';
import { MessageBuilder, type BuiltMessage } from './build-message.ts';
import { OutcomeRecorder, type RecordedOutcome } from './outcome-recorder.ts';
import type { SendResult, Transport } from './transports/transport.ts';
import { PriorityGate } from './priority-gate.ts';
import type { BuildPool } from './build-pool.ts';

/** Messages of this priority or lower are urgent (transactional): they may use the reserved slots. */
const URGENT_PRIORITY = 0;
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

/** Slots kept free of bulk mail: an eighth of the concurrency, at least one (none when there is only one slot). */
export function reservedSlots(concurrency: number): number {
  return concurrency <= 1 ? 0 : Math.max(1, Math.floor(concurrency / 8));
}

export class DeliveryWorker {
  readonly owner = `w-${process.pid}-${randomAlnum(6)}`;
  private running = false;
  private inFlight = 0;
  /** Of `inFlight`, the messages that are not urgent: they may not take the reserved slots. */
  private bulkInFlight = 0;
  /** Set by notify(): new work was accepted, possibly urgent. */
  private newWork = false;
  /** When the loop last looked for urgent mail alone (bulk at its share of the slots). */
  private lastUrgentLook = 0;
  /** Ids of the messages being worked on now, their outcome being recorded included: the leases to keep alive. */
  private readonly active = new Set<string>();
  /** Gives a message's slot back (once); present from dispatch until its outcome is handed to the recorder. */
  private readonly slotRelease = new Map<string, () => void>();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private lastLeaseSweep = 0;
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly builder: MessageBuilder;
  private readonly buildGate: PriorityGate;
  private readonly recorder: OutcomeRecorder;
  private readonly log: Logger;
  private readonly outage: StoreOutage;

  constructor(
    private readonly ctx: Context,
    private readonly transport: Transport | null, // null in capture mode
    pool: BuildPool,
  ) {
    this.builder = new MessageBuilder(
      ctx.db,
      ctx.config.returnPathDomain,
      pool,
      { secret: ctx.secret, publicUrl: ctx.config.publicUrl },
      ctx.clock,
    );
    // Builds wait in the pool by priority; let in what keeps its threads busy, not more.
    this.buildGate = new PriorityGate(Math.max(BUILDS_AT_ONCE, pool.capacity));
    this.log = ctx.log.child({ component: 'worker' });
    this.outage = new StoreOutage(this.log, 'delivery');
    this.recorder = new OutcomeRecorder(
      ctx.db,
      this.owner,
      this.log,
      ctx.config.suppression,
      OUTCOME_BATCH,
      OUTCOME_FLUSH_MS,
      // Past half the lease another worker may take the message over; until then an outcome waits
      // for the store to come back rather than have its message sent again.
      { retryForMs: (ctx.config.worker.leaseSeconds * 1000) / 2 },
    );
  }

  async start(): Promise<void> {
    if (this.ctx.dialect === 'sqlite') {
      const released = await releaseAllLeases(this.ctx.db, this.ctx.clock());
      if (released) this.log.info({ released }, 'returned messages of an interrupted run to the queue');
    }
    this.running = true;
    this.leaseTimer = setInterval(() => void this.renewLeases(), this.sweepIntervalMs());
    this.leaseTimer.unref();
    this.loopDone = this.loop();
  }

  /** Leases are renewed and expired ones swept a few times per lease, at most every 5 s. */
  private sweepIntervalMs(): number {
    return Math.max(50, Math.min(5000, Math.floor((this.ctx.config.worker.leaseSeconds * 1000) / 3)));
  }

  /** Returns false when the leases could not be renewed. */
  private async renewLeases(): Promise<boolean> {
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

  /** Started and not stopping (what /readyz reports for a process that runs a worker). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Called after an accept: there is work now. */
  notify(): void {
    this.newWork = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.recorder.stopRetrying();
    this.notify();
    await this.loopDone;
    // Until every message is sent and its outcome committed (the recorder flushes on its own timer).
    while (this.active.size > 0) await new Promise((r) => setTimeout(r, 10));
    await this.recorder.drain();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    await this.transport?.close();
  }

  private async loop(): Promise<void> {
    const { concurrency, batchSize, pollMs, leaseSeconds } = this.ctx.config.worker;
    while (this.running) {
      try {
        const now = this.ctx.clock();
        // Only a turn whose statements succeeded may end a pause.
        let reachedStore = false;
        if (now - this.lastLeaseSweep >= this.sweepIntervalMs()) {
          this.lastLeaseSweep = now;
          // Our own leases are renewed first (other workers must see them alive), and the sweep
          // spares our own messages in flight: a stalled event loop, which makes the renewals
          // late, must never hand them to the queue again.
          if (await this.renewLeases()) {
            await releaseExpiredLeases(this.ctx.db, this.ctx.dialect, this.ctx.clock(), {
              owner: this.owner,
              ids: this.active,
            });
            reachedStore = true;
          }
        }
        // Messages whose outcome waits for its commit hold no slot, but are bounded too: a database
        // slower than the relay must slow the sending down, not pile up outcomes in memory.
        const room = Math.min(batchSize, concurrency - this.inFlight, 2 * concurrency - this.active.size);
        const bulkRoom = Math.min(room, this.bulkCapacity() - this.bulkInFlight);
        // Refill bulk work a quarter of the window at a time, not after every message: each claim
        // is a query and a commit (plus the suppression and blacklist look-ups of its batch).
        const refill = bulkRoom > 0 && (bulkRoom >= this.refillAt() || this.inFlight === 0);
        const newWork = this.newWork;
        this.newWork = false;
        let claimedAll = false;
        if (refill || (room > 0 && (newWork || now - this.lastUrgentLook >= URGENT_POLL_MS))) {
          // With bulk at its share (or not due for a refill), only urgent mail is claimed.
          const limit = refill ? bulkRoom : room;
          if (!refill) this.lastUrgentLook = now;
          // A claim lost in a power failure only queues its messages again: no flush of its own.
          const claimed = await unsyncedTransaction(this.ctx.db, this.ctx.dialect, (trx) =>
            claimDueMessages(
              trx,
              this.ctx.dialect,
              this.owner,
              now,
              leaseSeconds * 1000,
              limit,
              refill ? undefined : URGENT_PRIORITY,
            ),
          );
          reachedStore = true;
          if (claimed.length > 0) await this.dispatch(claimed);
          claimedAll = claimed.length === limit;
        }
        if (reachedStore && this.outage.succeeded()) {
          const released = await releaseIdleOwnLeases(this.ctx.db, this.owner, this.active, this.ctx.clock());
          if (released) this.log.info({ released }, 'returned messages held during the outage to the queue');
        }
        // Go round again at once when there may be more due work; poll briefly while messages are
        // in flight (their slots come free), slowly when idle (an accept here wakes the loop).
        // An accept notified during this turn (after it read newWork, while no idle() was there
        // to wake) would otherwise wait for the next poll: go round again for it.
        if (claimedAll || this.newWork) continue;
        await this.idle(this.active.size > 0 ? Math.min(pollMs, URGENT_POLL_MS) : pollMs);
      } catch (error) {
        if (this.outage.failed(error)) {
          await this.idle(this.outage.retryDelayMs());
          continue;
        }
        this.log.error({ err: error }, 'delivery loop error');
        await this.idle(pollMs);
      }
    }
  }

  private bulkCapacity(): number {
    const { concurrency } = this.ctx.config.worker;
    return concurrency - reservedSlots(concurrency);
  }

  private refillAt(): number {
    return Math.max(1, Math.min(this.ctx.config.worker.batchSize, Math.floor(this.bulkCapacity() / 4)));
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async dispatch(batch: MessagesTable[]): Promise<void> {
    // A recipient suppressed after its message was accepted (an earlier hard bounce, say) is not sent.
    const byAccount = new Map<string, MessagesTable[]>();
    for (const m of batch) byAccount.set(m.account_id, [...(byAccount.get(m.account_id) ?? []), m]);
    // A blacklisted recipient (the account's "never send to" list) is refused by policy.
    const suppressed = new Map<string, string>();
    const blacklisted = new Set<string>();
    for (const [accountId, list] of byAccount) {
      const emails = [...new Set(list.map((m) => m.recipient.toLowerCase()))];
      const found = await findSuppressed(this.ctx.db, accountId, emails);
      for (const [email, type] of found) suppressed.set(`${accountId}:${email}`, type);
      for (const email of await findBlacklisted(this.ctx.db, accountId, emails))
        blacklisted.add(`${accountId}:${email}`);
    }
    const transactional = await this.transactionalAmong(batch, suppressed);
    for (const m of batch) {
      const bulk = m.priority > URGENT_PRIORITY;
      this.inFlight++;
      if (bulk) this.bulkInFlight++;
      this.active.add(m.id);
      const releaseSlot = () => {
        if (!this.slotRelease.delete(m.id)) return;
        this.inFlight--;
        if (bulk) this.bulkInFlight--;
        // Wake the loop for a refill once enough bulk slots are free (see loop()).
        if (this.bulkCapacity() - this.bulkInFlight === this.refillAt() || this.inFlight === 0) this.wake?.();
      };
      this.slotRelease.set(m.id, releaseSlot);
      const who = `${m.account_id}:${m.recipient.toLowerCase()}`;
      const suppressionType = suppressed.get(who);
      const held =
        suppressionType !== undefined &&
        suppressionApplies(suppressionType, m.transmission_id !== null && transactional.has(m.transmission_id));
      const task = blacklisted.has(who)
        ? this.refuseByPolicy(m)
        : held
          ? this.reject(m, suppressionType)
          : this.deliver(m);
      void task
        .catch((error: unknown) => {
          if (!this.outage.failed(error))
            this.log.error({ err: error, messageId: m.id }, 'delivery failed unexpectedly');
        })
        .finally(() => {
          // Whatever happened, the lease is no longer renewed: if the outcome could not be
          // recorded, the row returns to the queue when its lease runs out.
          this.active.delete(m.id);
          releaseSlot();
        });
    }
  }

  /**
   * The transmissions of the batch sent as transactional mail, looked up only for messages whose
   * address has an entry that depends on it (an unsubscribe holds back marketing mail only).
   */
  private async transactionalAmong(batch: MessagesTable[], suppressed: Map<string, string>): Promise<Set<string>> {
    const ids = batch
      .filter(
        (m) =>
          m.transmission_id !== null &&
          !suppressionApplies(suppressed.get(`${m.account_id}:${m.recipient.toLowerCase()}`) ?? '', true),
      )
      .map((m) => m.transmission_id!);
    return transactionalTransmissionIds(this.ctx.db, ids);
  }

  private record(
    m: MessagesTable,
    outcome: MessageOutcome,
    type: string,
    data: Record<string, unknown>,
    extra: Partial<RecordedOutcome> = {},
  ): Promise<void> {
    // The outcome is known: the slot can take the next message while this one waits for its commit.
    this.slotRelease.get(m.id)?.();
    return this.recorder.record({
      outcome,
      accountId: m.account_id,
      acceptedAt: Number(m.created_at),
      event: {
        type,
        message_id: m.id,
        transmission_id: m.transmission_id,
        mailing_id: m.mailing_id,
        recipient: m.recipient,
        data: JSON.stringify(data),
      },
      ...extra,
    });
  }

  /** Suppressed after accept: recorded exactly as a recipient suppressed at accept is (class 50, a bounce event). */
  private reject(m: MessagesTable, suppressionType: string): Promise<void> {
    const reason = `Recipient is on the suppression list (${suppressionType})`;
    const outcome: MessageOutcome = {
      id: m.id,
      status: 'suppressed',
      lastResponse: reason,
      bounceClass: 50,
      messageIdHeader: null,
      size: null,
      at: this.ctx.clock(),
    };
    return this.record(m, outcome, 'bounce', { reason, bounceClass: 50 });
  }

  /** On the account's blacklist: never sent; recorded as a policy rejection (class 50). */
  private refuseByPolicy(m: MessagesTable): Promise<void> {
    const reason = 'Recipient is on the blacklist of the account';
    const outcome: MessageOutcome = {
      id: m.id,
      status: 'suppressed',
      lastResponse: reason,
      bounceClass: 50,
      messageIdHeader: null,
      size: null,
      at: this.ctx.clock(),
    };
    return this.record(m, outcome, 'policy_rejection', { reason, bounceClass: 50 });
  }

  private async deliver(m: MessagesTable): Promise<void> {
    let built;
    try {
      built = await this.buildGate.run(m.priority, () => this.builder.build(m));
    } catch (error) {
      // The store failed, not the content: the message goes back to the queue (see above).
      if (isStoreUnavailable(error)) throw error;
      // Content that cannot be built now will not build later either: fail the message, visibly.
      const reason = `could not build the message: ${(error as Error).message}`;
      const outcome: MessageOutcome = {
        id: m.id,
        status: 'bounced',
        lastResponse: reason,
        bounceClass: 40,
        messageIdHeader: null,
        size: null,
        at: this.ctx.clock(),
      };
      return this.record(m, outcome, 'bounce', { reason, bounceClass: 40 });
    }
    const base = { id: m.id, messageIdHeader: built.messageIdHeader, size: built.raw.length };

    if (m.sandbox === 1 || this.transport === null) {
      const outcome: MessageOutcome = {
        ...base,
        status: 'captured',
        lastResponse: '250 captured',
        bounceClass: null,
        at: this.ctx.clock(),
      };
      return this.record(m, outcome, 'delivery', { captured: true }, { raw: built.raw.toString('utf8') });
    }

    const sent = await this.transport.send({ from: built.envelopeFrom, to: [m.recipient] }, built.raw, m.priority);
    if ('notTriedUntil' in sent) return this.handBack(m, sent.notTriedUntil);
    return this.recordReply(m, built, base, sent);
  }

  /** Not tried (the transport's limits for the destination are full): back to the queue as it was, no event. */
  private handBack(m: MessagesTable, until: number): Promise<void> {
    this.slotRelease.get(m.id)?.();
    const outcome: MessageOutcome = {
      id: m.id,
      status: m.attempts > 1 ? 'deferred' : 'queued',
      notTried: true,
      lastResponse: m.last_response,
      bounceClass: m.bounce_class,
      nextAttemptAt: until,
      messageIdHeader: m.message_id_header,
      size: m.size,
      at: this.ctx.clock(),
    };
    return this.recorder.record({ outcome, accountId: m.account_id });
  }

  private recordReply(
    m: MessagesTable,
    built: BuiltMessage,
    base: { id: string; messageIdHeader: string; size: number },
    { reply, via, details, retryAt }: SendResult,
  ): Promise<void> {
    const now = this.ctx.clock();
    const disposition = classifyReply(reply);
    const text = reply.text || `${reply.code}`;
    if (disposition.kind === 'delivered') {
      return this.record(
        m,
        { ...base, status: 'delivered', lastResponse: text, bounceClass: null, at: now },
        'delivery',
        { response: text, via, ...details },
      );
    }
    const { retryMaxAgeSeconds, retrySchedule } = this.ctx.config.worker;
    const expired = now - built.firstDueAt >= retryMaxAgeSeconds * 1000;
    if (disposition.kind === 'retry' && !expired) {
      // A destination that asked us to back off says when to come back; otherwise the schedule does.
      const next = retryAt ?? now + nextAttemptDelayMs(m.attempts, retrySchedule);
      return this.record(
        m,
        {
          ...base,
          status: 'deferred',
          lastResponse: text,
          bounceClass: disposition.bounceClass,
          nextAttemptAt: next,
          at: now,
        },
        'delay',
        {
          reason: text,
          bounceClass: disposition.bounceClass,
          nextAttemptAt: new Date(next).toISOString(),
          via,
          ...details,
        },
      );
    }
    const cls = disposition.kind === 'retry' && reply.code === 0 ? 24 : disposition.bounceClass;
    // What the bounce does to the address (suppression, soft-bounce streak) follows from the event.
    return this.record(m, { ...base, status: 'bounced', lastResponse: text, bounceClass: cls, at: now }, 'bounce', {
      reason: text,
      bounceClass: cls,
      via,
      ...details,
    });
  }
}
