// The delivery loop: claim due messages with a lease, build each one, hand it to the transport
// and record what happened. Bounded concurrency; transactional mail (priority 0) is claimed first;
// an accept in this process wakes the loop at once instead of waiting for the next poll.
// While a message is being worked on, the worker keeps renewing its lease, so a lease runs out
// only when the worker is gone (or gave up on the message); any worker's sweep then returns the row
// to the queue.
import type { Logger } from 'pino';
import type { Context } from '../services/context.ts';
import type { MessagesTable } from '../store/schema.ts';
import { claimDueMessages, releaseAllLeases, releaseExpiredLeases, renewLeases, type MessageOutcome } from '../store/messages.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { classifyReply, suppressesAddress, type SmtpReply } from '../domain/bounce-classes.ts';
import { nextAttemptDelayMs } from '../domain/backoff.ts';
import { randomAlnum } from '../domain/ids.ts';
import { MessageBuilder, type BuiltMessage } from './build-message.ts';
import { OutcomeRecorder, type RecordedOutcome } from './outcome-recorder.ts';
import type { Transport } from './transports/transport.ts';

export class DeliveryWorker {
  readonly owner = `w-${process.pid}-${randomAlnum(6)}`;
  private running = false;
  private inFlight = 0;
  /** Ids of the messages being worked on now: the leases to keep alive. */
  private readonly active = new Set<string>();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private lastLeaseSweep = 0;
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly builder: MessageBuilder;
  private readonly recorder: OutcomeRecorder;
  private readonly log: Logger;

  constructor(
    private readonly ctx: Context,
    private readonly transport: Transport | null, // null in capture mode
  ) {
    this.builder = new MessageBuilder(ctx.db, ctx.config.returnPathDomain, undefined, { secret: ctx.secret, publicUrl: ctx.config.publicUrl });
    this.log = ctx.log.child({ component: 'worker' });
    this.recorder = new OutcomeRecorder(ctx.db, this.owner, this.log);
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
      await renewLeases(this.ctx.db, this.ctx.dialect, this.owner, [...this.active], this.ctx.clock(), this.ctx.config.worker.leaseSeconds * 1000);
      return true;
    } catch (error) {
      this.log.error({ err: error }, 'could not renew leases');
      return false;
    }
  }

  /** Called after an accept: there is work now. */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loopDone;
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
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
        if (now - this.lastLeaseSweep >= this.sweepIntervalMs()) {
          this.lastLeaseSweep = now;
          // Our own leases are renewed first (other workers must see them alive), and the sweep
          // spares our own messages in flight: a stalled event loop, which makes the renewals
          // late, must never hand them to the queue again.
          if (await this.renewLeases()) await releaseExpiredLeases(this.ctx.db, this.ctx.dialect, this.ctx.clock(), { owner: this.owner, ids: this.active });
        }
        const room = Math.min(batchSize, concurrency - this.inFlight);
        if (room > 0) {
          const claimed = await claimDueMessages(this.ctx.db, this.ctx.dialect, this.owner, now, leaseSeconds * 1000, room);
          if (claimed.length > 0) {
            await this.dispatch(claimed);
            // Go round again at once: there may be more due work.
            if (claimed.length === room) continue;
          }
        }
        await this.idle(room > 0 ? pollMs : 5);
      } catch (error) {
        this.log.error({ err: error }, 'delivery loop error');
        await this.idle(pollMs);
      }
    }
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
      for (const email of await findBlacklisted(this.ctx.db, accountId, emails)) blacklisted.add(`${accountId}:${email}`);
    }
    for (const m of batch) {
      this.inFlight++;
      this.active.add(m.id);
      const who = `${m.account_id}:${m.recipient.toLowerCase()}`;
      const suppressionType = suppressed.get(who);
      const task = blacklisted.has(who) ? this.refuseByPolicy(m) : suppressionType !== undefined ? this.reject(m, suppressionType) : this.deliver(m);
      void task
        .catch((error) => this.log.error({ err: error, messageId: m.id }, 'delivery failed unexpectedly'))
        .finally(() => {
          // Whatever happened, the lease is no longer renewed: if the outcome could not be
          // recorded, the row returns to the queue when its lease runs out.
          this.active.delete(m.id);
          this.inFlight--;
          // Claim again once half the slots are free, not after every message: each claim is a
          // query (plus the suppression and blacklist look-ups of its batch).
          if (this.inFlight <= this.ctx.config.worker.concurrency / 2) this.notify();
        });
    }
  }

  private record(m: MessagesTable, outcome: MessageOutcome, type: string, data: Record<string, unknown>, extra: Partial<RecordedOutcome> = {}): Promise<void> {
    return this.recorder.record({
      outcome,
      accountId: m.account_id,
      event: { type, message_id: m.id, transmission_id: m.transmission_id, mailing_id: m.mailing_id, recipient: m.recipient, data: JSON.stringify(data) },
      ...extra,
    });
  }

  /** Suppressed after accept: recorded exactly as a recipient suppressed at accept is (class 50, a bounce event). */
  private reject(m: MessagesTable, suppressionType: string): Promise<void> {
    const reason = `Recipient is on the suppression list (${suppressionType})`;
    const outcome: MessageOutcome = { id: m.id, status: 'suppressed', lastResponse: reason, bounceClass: 50, messageIdHeader: null, size: null, at: this.ctx.clock() };
    return this.record(m, outcome, 'bounce', { reason, bounceClass: 50 });
  }

  /** On the account's blacklist: never sent; recorded as a policy rejection (class 50). */
  private refuseByPolicy(m: MessagesTable): Promise<void> {
    const reason = 'Recipient is on the blacklist of the account';
    const outcome: MessageOutcome = { id: m.id, status: 'suppressed', lastResponse: reason, bounceClass: 50, messageIdHeader: null, size: null, at: this.ctx.clock() };
    return this.record(m, outcome, 'policy_rejection', { reason, bounceClass: 50 });
  }

  private async deliver(m: MessagesTable): Promise<void> {
    let built;
    try {
      built = await this.builder.build(m);
    } catch (error) {
      // Content that cannot be built now will not build later either: fail the message, visibly.
      const reason = `could not build the message: ${(error as Error).message}`;
      const outcome: MessageOutcome = { id: m.id, status: 'bounced', lastResponse: reason, bounceClass: 40, messageIdHeader: null, size: null, at: this.ctx.clock() };
      return this.record(m, outcome, 'bounce', { reason, bounceClass: 40 });
    }
    const base = { id: m.id, messageIdHeader: built.messageIdHeader, size: built.raw.length };

    if (m.sandbox === 1 || this.transport === null) {
      const outcome: MessageOutcome = { ...base, status: 'captured', lastResponse: '250 captured', bounceClass: null, at: this.ctx.clock() };
      return this.record(m, outcome, 'delivery', { captured: true }, { raw: built.raw.toString('utf8') });
    }

    const { reply, via } = await this.transport.send({ from: built.envelopeFrom, to: [m.recipient] }, built.raw);
    return this.recordReply(m, built, base, reply, via);
  }

  private recordReply(m: MessagesTable, built: BuiltMessage, base: { id: string; messageIdHeader: string; size: number }, reply: SmtpReply, via: string): Promise<void> {
    const now = this.ctx.clock();
    const disposition = classifyReply(reply);
    const text = reply.text || `${reply.code}`;
    if (disposition.kind === 'delivered') {
      return this.record(m, { ...base, status: 'delivered', lastResponse: text, bounceClass: null, at: now }, 'delivery', { response: text, via });
    }
    const { retryMaxAgeSeconds, retrySchedule } = this.ctx.config.worker;
    const expired = now - built.firstDueAt >= retryMaxAgeSeconds * 1000;
    if (disposition.kind === 'retry' && !expired) {
      const next = now + nextAttemptDelayMs(m.attempts, retrySchedule);
      return this.record(m, { ...base, status: 'deferred', lastResponse: text, bounceClass: disposition.bounceClass, nextAttemptAt: next, at: now }, 'delay', {
        reason: text,
        bounceClass: disposition.bounceClass,
        nextAttemptAt: new Date(next).toISOString(),
        via,
      });
    }
    const cls = disposition.kind === 'retry' && reply.code === 0 ? 24 : disposition.bounceClass;
    const suppress = suppressesAddress(cls) ? { email: m.recipient, type: 'bounce', reason: text } : undefined;
    return this.record(m, { ...base, status: 'bounced', lastResponse: text, bounceClass: cls, at: now }, 'bounce', { reason: text, bounceClass: cls, via }, { suppress });
  }
}
