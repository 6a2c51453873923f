// The delivery loop: claim due messages with a lease, build each one, hand it to the transport
// and record what happened. Bounded concurrency; transactional mail (priority 0) is claimed first;
// an accept in this process wakes the loop at once instead of waiting for the next poll.
import type { Logger } from 'pino';
import type { Context } from '../services/context.ts';
import type { MessagesTable } from '../store/schema.ts';
import { claimDueMessages, releaseAllLeases, releaseExpiredLeases, type MessageOutcome } from '../store/messages.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { classifyReply, isHardBounce, type SmtpReply } from '../domain/bounce-classes.ts';
import { nextAttemptDelayMs } from '../domain/backoff.ts';
import { randomAlnum } from '../domain/ids.ts';
import { MessageBuilder } from './build-message.ts';
import { OutcomeRecorder, type RecordedOutcome } from './outcome-recorder.ts';
import type { Transport } from './transports/transport.ts';

export class DeliveryWorker {
  readonly owner = `w-${process.pid}-${randomAlnum(6)}`;
  private running = false;
  private inFlight = 0;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private lastLeaseSweep = 0;
  private readonly builder: MessageBuilder;
  private readonly recorder: OutcomeRecorder;
  private readonly log: Logger;

  constructor(
    private readonly ctx: Context,
    private readonly transport: Transport | null, // null in capture mode
  ) {
    this.builder = new MessageBuilder(ctx.db, ctx.config.returnPathDomain);
    this.log = ctx.log.child({ component: 'worker' });
    this.recorder = new OutcomeRecorder(ctx.db, this.owner, this.log);
  }

  async start(): Promise<void> {
    if (this.ctx.dialect === 'sqlite') {
      const released = await releaseAllLeases(this.ctx.db, this.ctx.clock());
      if (released) this.log.info({ released }, 'returned messages of an interrupted run to the queue');
    }
    this.running = true;
    this.loopDone = this.loop();
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
    await this.transport?.close();
  }

  private async loop(): Promise<void> {
    const { concurrency, batchSize, pollMs, leaseSeconds } = this.ctx.config.worker;
    while (this.running) {
      try {
        const now = this.ctx.clock();
        if (now - this.lastLeaseSweep > 5000) {
          this.lastLeaseSweep = now;
          await releaseExpiredLeases(this.ctx.db, now);
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
    const suppressed = new Set<string>();
    for (const [accountId, list] of byAccount) {
      const found = await findSuppressed(this.ctx.db, accountId, [...new Set(list.map((m) => m.recipient.toLowerCase()))]);
      for (const email of found.keys()) suppressed.add(`${accountId}:${email}`);
    }
    for (const m of batch) {
      this.inFlight++;
      const task = suppressed.has(`${m.account_id}:${m.recipient.toLowerCase()}`) ? this.reject(m) : this.deliver(m);
      void task
        .catch((error) => this.log.error({ err: error, messageId: m.id }, 'delivery failed unexpectedly'))
        .finally(() => {
          this.inFlight--;
          this.notify();
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

  private reject(m: MessagesTable): Promise<void> {
    const reason = 'Recipient is on the suppression list';
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
    return this.recordReply(m, base, reply, via);
  }

  private recordReply(m: MessagesTable, base: { id: string; messageIdHeader: string; size: number }, reply: SmtpReply, via: string): Promise<void> {
    const now = this.ctx.clock();
    const disposition = classifyReply(reply);
    const text = reply.text || `${reply.code}`;
    if (disposition.kind === 'delivered') {
      return this.record(m, { ...base, status: 'delivered', lastResponse: text, bounceClass: null, at: now }, 'delivery', { response: text, via });
    }
    const { retryMaxAgeSeconds, retrySchedule } = this.ctx.config.worker;
    const expired = now - m.created_at >= retryMaxAgeSeconds * 1000;
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
    const suppress = isHardBounce(cls) ? { email: m.recipient, type: 'bounce', reason: text } : undefined;
    return this.record(m, { ...base, status: 'bounced', lastResponse: text, bounceClass: cls, at: now }, 'bounce', { reason: text, bounceClass: cls, via }, { suppress });
  }
}
