// Delivery outcomes are written in small batches (group commit): every outcome of the last few
// milliseconds, its event, its captured MIME and whatever the suppression policy makes of the
// event (src/events/record-events.ts) go into one transaction. The window between a relay's 250 and the committed
// "delivered" is one flush.
// Rows are written in id order, the order every other multi-row writer locks them in, and a batch
// that loses a deadlock or a serialization conflict anyway (PostgreSQL, several workers) is tried
// again: an outcome that is not recorded would send its message a second time.
// For the same reason a batch waits out an outage of the store (connection lost, database
// restarting, disk full), trying again with backoff for up to `retryForMs`. That is safe even when
// a COMMIT's fate was unknown: an outcome is applied only where this worker still holds the
// message's lease and clears it, so a second write of a batch that did commit changes nothing.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../store/schema.ts';
import { storeFault } from '../store/store-errors.ts';
import { withRetry } from '../store/retry.ts';
import { applyOutcomes, insertRaw, type MessageOutcome } from '../store/messages.ts';
import type { NewEvent } from '../store/events.ts';
import { recordEvents } from '../events/record-events.ts';
import type { SuppressionPolicy } from '../domain/suppression-policy.ts';
import { observeDeliveryLatency } from '../metrics/instruments.ts';

export interface RecordedOutcome {
  outcome: MessageOutcome;
  accountId: string;
  /** Absent for a message handed back untried: nothing happened to it that an event would report. */
  event?: Omit<NewEvent, 'created_at' | 'account_id'>;
  raw?: Buffer;
  /** When the message was accepted: its delivery latency is measured from there (metrics). */
  acceptedAt?: number;
}

export class OutcomeRecorder {
  private pending: Array<{ item: RecordedOutcome; done: () => void; fail: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly policy: SuppressionPolicy,
    private readonly maxBatch = 256,
    private readonly maxDelayMs = 5,
    private readonly opts: { retryForMs?: number } = {},
  ) {}

  /** At shutdown: an outage is no longer waited out (the leases return the messages to the queue). */
  stopRetrying(): void {
    this.stopping = true;
  }

  record(item: RecordedOutcome): Promise<void> {
    return new Promise((done, fail) => {
      this.pending.push({ item, done, fail });
      if (this.pending.length >= this.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.maxDelayMs);
    });
  }

  private flushSoon(delay: number): void {
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, delay);
  }

  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.flushing = this.flushing.then(() => this.flush());
    await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.maxBatch);
      const items = batch
        .map((b) => b.item)
        .sort((a, b) => (a.outcome.id < b.outcome.id ? -1 : a.outcome.id > b.outcome.id ? 1 : 0));
      try {
        await this.writeWithRetry(items);
        for (const b of batch) b.done();
      } catch (error) {
        this.log.error({ err: error }, 'could not record delivery outcomes');
        for (const b of batch) b.fail(error);
      }
    }
  }

  private writeWithRetry(items: RecordedOutcome[]): Promise<void> {
    let conflicts = 0;
    return withRetry(() => this.write(items), {
      attempts: Number.MAX_SAFE_INTEGER,
      baseDelayMs: 20,
      maxDelayMs: 2000,
      deadlineMs: this.opts.retryForMs ?? 30_000,
      // A conflict clears at once, so a few tries are enough; an outage is waited out until the deadline.
      shouldRetry: (error) => {
        const fault = storeFault(error);
        if (fault === 'conflict') return ++conflicts < MAX_CONFLICT_ATTEMPTS;
        return fault !== null;
      },
      giveUp: () => this.stopping,
      onRetry: (error, attempt) => {
        // An outage is logged once by the store; a conflict is worth a line of its own.
        if (storeFault(error) === 'conflict')
          this.log.warn({ err: error, attempt }, 'delivery outcomes hit a lock conflict, trying again');
      },
    });
  }

  private async write(items: RecordedOutcome[]): Promise<void> {
    // Metrics are counted once the outcomes are committed, never for an attempt that is rolled back.
    const committed: Array<() => void> = [];
    await this.db.transaction().execute(async (trx) => {
      const events: NewEvent[] = [];
      // A row whose lease was lost (reclaimed after expiry) keeps the newer owner's state.
      const applied = await applyOutcomes(
        trx,
        this.owner,
        items.map((item) => item.outcome),
      );
      for (const item of items) {
        if (!applied.has(item.outcome.id)) continue;
        if (item.raw !== undefined) await insertRaw(trx, item.outcome.id, item.accountId, item.raw, item.outcome.at);
        if (item.event) events.push({ ...item.event, account_id: item.accountId, created_at: item.outcome.at });
      }
      await recordEvents(trx, events, { policy: this.policy, afterCommit: (fn) => committed.push(fn) });
      committed.push(() => observeLatencies(items.filter((item) => applied.has(item.outcome.id))));
    });
    for (const fn of committed) fn();
  }
}

/** Accept → final outcome (delivered, captured or bounced) of each message; deferrals are not final. */
function observeLatencies(items: RecordedOutcome[]): void {
  for (const { outcome, acceptedAt } of items) {
    if (acceptedAt === undefined || outcome.notTried) continue;
    const final =
      outcome.status === 'delivered' || outcome.status === 'captured'
        ? 'delivered'
        : outcome.status === 'bounced' || outcome.status === 'suppressed'
          ? 'bounced'
          : null;
    if (final) observeDeliveryLatency(final, (outcome.at - acceptedAt) / 1000);
  }
}

/** Tries in all for a batch that keeps losing lock conflicts. */
const MAX_CONFLICT_ATTEMPTS = 4;
