// The fan-out loop (worker role): starts scheduled mailings when their time comes, and turns a
// running mailing's audience into outbox rows in id-ordered batches — never the whole list in
// memory. Each batch's messages and the advanced cursor commit in one transaction, so after a crash
// the next run continues exactly where the last commit left off (and the unique
// (mailing_id, subscriber_id) index makes a repeated batch harmless). A lease on the mailing row
// lets one node at a time fan out a mailing. The backlog is bounded: while many of a mailing's
// messages wait in the outbox no more are added, so a huge mailing neither floods the table nor
// crowds out transactional mail (which the claim query takes first anyway: priority 0 < 10).
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import type { Transaction } from 'kysely';
import type { Database, MessagesTable } from '../store/schema.ts';
import { newOutboxRow } from '../store/messages.ts';
import {
  audienceBatch,
  commitFanoutStep,
  countOpenMessages,
  existingMessageIds,
  fannedOutMailings,
  mailingsToFanOut,
  markSentIfFinished,
  releaseFanoutLeases,
  startDueScheduled,
  takeFanoutLease,
  type MailingRow,
} from '../store/mailings.ts';
import { subscriberExtras } from '../store/subscriber-groups.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { unsyncedTransaction } from '../store/unsynced-write.ts';
import { recordEvents } from '../events/record-events.ts';
import { newId, randomAlnum } from '../domain/ids.ts';
import { audienceOf, audienceShape } from './mailing-audience.ts';
import { storedRecipient } from '../domain/mailing-content.ts';
import { StoreOutage } from './store-outage.ts';
import { BackgroundLoop } from './background-loop.ts';
import { ServiceError } from './errors.ts';
import { reserveQuota } from './quota.ts';
import { sandboxFlags } from './sandbox.ts';
import { pauseMailing } from './mailing-actions.ts';

export interface FanoutOptions {
  /** Subscribers read and messages written per step (one transaction). */
  batchSize: number;
  /** No new messages for a mailing while this many of its messages are not finished. */
  maxBacklog: number;
  pollMs: number;
  leaseMs: number;
}

export const MAILING_PRIORITY = 10;

export class MailingFanout {
  readonly owner = `f-${process.pid}-${randomAlnum(6)}`;
  private readonly log: Logger;
  private readonly outage: StoreOutage;
  private readonly loop: BackgroundLoop;

  constructor(
    private readonly ctx: Context,
    /** Wakes the delivery worker: there are new messages. */
    private readonly onMessages: () => void,
    private readonly opts: FanoutOptions,
  ) {
    this.log = ctx.log.child({ component: 'mailing-fanout' });
    this.outage = new StoreOutage(this.log, 'mailing fan-out');
    // A step lost with the connection is made again (see above): the loop pauses until the store is back.
    this.loop = new BackgroundLoop({
      turn: () => this.turn(),
      outage: this.outage,
      log: this.log,
      errorMessage: 'mailing fan-out error',
      errorRestMs: () => this.opts.pollMs,
    });
  }

  static optionsFor(ctx: Context): FanoutOptions {
    const { pollMs, leaseSeconds, batchSize } = ctx.config.worker;
    return {
      // A step runs as one synchronous stretch on SQLite (every statement of its transaction back to
      // back): 250 rows keep that stretch near 10 ms, so SMTP replies waiting on the event loop are
      // not held up for the 40 ms a 1,000-row step took.
      batchSize: 250,
      // A few claim batches' worth ahead of the worker: enough to keep it busy, small enough to stay light.
      maxBacklog: Math.max(2000, batchSize * 8),
      pollMs: Math.min(1000, Math.max(50, pollMs)),
      leaseMs: Math.min(60_000, leaseSeconds * 1000),
    };
  }

  async start(): Promise<void> {
    // On SQLite one process owns the work, so at its start every lease is an orphan of a crash.
    if (this.ctx.dialect === 'sqlite') await releaseFanoutLeases(this.ctx.db, null);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await releaseFanoutLeases(this.ctx.db, this.owner).catch(() => undefined);
  }

  /** Something changed (a mailing was sent or resumed): look now rather than at the next poll. */
  notify(): void {
    this.loop.wake();
  }

  /** One turn of the loop: a round, then a rest unless it added messages (there may be more). */
  private async turn(): Promise<number | null> {
    const worked = await this.tick();
    this.outage.succeeded();
    return worked ? null : this.opts.pollMs;
  }

  /** One round over every mailing with work; whether any messages were added. */
  async tick(): Promise<boolean> {
    const now = this.ctx.clock();
    await startDueScheduled(this.ctx.db, now);
    let worked = false;
    for (const mailing of await mailingsToFanOut(this.ctx.db, this.owner, now, 20)) {
      if (!this.loop.isRunning) break;
      if (
        !(await unsyncedTransaction(this.ctx.db, this.ctx.dialect, (trx) =>
          takeFanoutLease(trx, mailing.id, this.owner, now, this.opts.leaseMs),
        ))
      )
        continue;
      if (await this.step(mailing)) worked = true;
    }
    await this.finishSentMailings();
    return worked;
  }

  /** Materializes the next batch of one mailing; false when nothing was added (backlog full, lease lost). */
  private async step(mailing: MailingRow): Promise<boolean> {
    const { db } = this.ctx;
    if ((await countOpenMessages(db, mailing.id)) >= this.opts.maxBacklog) return false;
    const accountId = mailing.account_id;
    const filter = await audienceOf(this.ctx, mailing);
    const batch = await audienceBatch(db, filter, audienceShape(this.ctx), mailing.fanout_cursor, this.opts.batchSize);
    const done = batch.length < this.opts.batchSize;
    const cursor = batch.length > 0 ? batch[batch.length - 1].id : mailing.fanout_cursor;

    // Suppressed and blacklisted addresses get no message at all.
    const emails = batch.map((s) => s.email!);
    const [suppressed, blacklisted] = await Promise.all([
      findSuppressed(db, accountId, emails),
      findBlacklisted(db, accountId, emails),
    ]);
    const eligible = batch.filter((s) => !suppressed.has(s.email!) && !blacklisted.has(s.email!));
    const extras = eligible.length
      ? await subscriberExtras(
          db,
          accountId,
          eligible.map((s) => s.id),
        )
      : null;

    const sandbox = mailing.sandbox === 1;
    const sandboxFlag = await sandboxFlags(
      this.ctx,
      accountId,
      sandbox,
      eligible.map((s) => s.email!),
    );
    const now = this.ctx.clock();
    const rows: MessagesTable[] = eligible.map((s) => {
      const name = [s.firstname, s.lastname]
        .filter(Boolean)
        .join(' ')
        .replace(/[\r\n]+/g, ' ')
        .trim();
      return newOutboxRow({
        id: newId(),
        account_id: accountId,
        mailing_id: String(mailing.id),
        subscriber_id: s.id,
        recipient: s.email!,
        recipient_name: name || null,
        recipient_data: JSON.stringify({ mailingRecipient: storedRecipient(s, extras?.fieldValues.get(s.id)) }),
        priority: MAILING_PRIORITY,
        sandbox: sandboxFlag(s.email!),
        now,
      });
    });

    // No flush of its own: lost in a power failure, the step (rows and cursor together) is made
    // again, and any outcome of its messages commits after it (see unsynced-write.ts).
    let inserted: number | null;
    try {
      inserted = await unsyncedTransaction(db, this.ctx.dialect, (trx) =>
        this.commitStep(trx, mailing, cursor, done, rows, now),
      );
    } catch (error) {
      if (!(error instanceof ServiceError && error.reason === 'limit_exceeded')) throw error;
      // The batch would pass a sending limit (the quota was used since the mailing started):
      // nothing of it was written; the mailing pauses, visibly, and resuming retries the batch.
      this.log.warn({ mailingId: mailing.id, reason: error.detail }, 'mailing paused: sending limit reached');
      await pauseMailing(this.ctx, accountId, mailing.id).catch((e: unknown) => {
        if (!(e instanceof ServiceError)) throw e; // cancelled or paused meanwhile
      });
      return false;
    }
    if (inserted === null) return false;
    mailing.fanout_cursor = cursor;
    if (inserted > 0) this.onMessages();
    if (done)
      this.log.info({ mailingId: mailing.id, recipients: mailing.recipient_count + inserted }, 'mailing fanned out');
    return inserted > 0 || !done;
  }

  /** The step's rows, their events and the quota they use, in the step's transaction (see step). */
  private async commitStep(
    trx: Transaction<Database>,
    mailing: MailingRow,
    cursor: number,
    done: boolean,
    rows: MessagesTable[],
    now: number,
  ): Promise<number | null> {
    const accountId = mailing.account_id;
    const n = await commitFanoutStep(trx, mailing.id, this.owner, cursor, done, rows, now, this.opts.leaseMs);
    if (n === null || n === 0) return n;
    const mine =
      n === rows.length
        ? rows
        : await existingMessageIds(
            trx,
            rows.map((r) => r.id),
          ).then((ids) => rows.filter((r) => ids.has(r.id)));
    await recordEvents(
      trx,
      mine.map((r) => ({
        account_id: accountId,
        type: 'injection',
        message_id: r.id,
        transmission_id: null,
        mailing_id: r.mailing_id,
        recipient: r.recipient,
        data: JSON.stringify({ subscriberId: r.subscriber_id }),
        created_at: now,
      })),
    );
    await reserveQuota(this.ctx, trx, accountId, { messages: n, sandbox: mailing.sandbox === 1 ? n : 0 }, now);
    return n;
  }

  /** Mailings whose every message is finished become "sent" (and say so in a mailing.sent event). */
  private async finishSentMailings(): Promise<void> {
    for (const m of await fannedOutMailings(this.ctx.db, 50)) {
      const now = this.ctx.clock();
      await this.ctx.db.transaction().execute(async (trx) => {
        if (!(await markSentIfFinished(trx, m.id, now))) return;
        await recordEvents(trx, [
          {
            account_id: m.account_id,
            type: 'mailing.sent',
            message_id: null,
            transmission_id: null,
            mailing_id: String(m.id),
            recipient: null,
            data: JSON.stringify({ mailingId: m.id }),
            created_at: now,
          },
        ]);
      });
    }
  }
}
