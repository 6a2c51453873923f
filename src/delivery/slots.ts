// The worker's slots: how many messages it works on at once. Transactional mail never waits for a
// free slot: bulk mail may hold at most all but a few reserved slots. A message gives its slot back
// as soon as its outcome is known (the relay's reply), not when that outcome is committed: a slot
// held until the commit would idle an SMTP connection for the flush delay and the fsync.
import type { MessagesTable } from '../store/schema.ts';

/** Messages of this priority or lower are urgent (transactional): they may use the reserved slots. */
export const URGENT_PRIORITY = 0;

/** Slots kept free of bulk mail: an eighth of the concurrency, at least one (none when there is only one slot). */
export function reservedSlots(concurrency: number): number {
  return concurrency <= 1 ? 0 : Math.max(1, Math.floor(concurrency / 8));
}

export class DeliverySlots {
  private taken = 0;
  /** Of the slots taken, those held by mail that is not urgent: it may not take the reserved slots. */
  private bulkTaken = 0;
  /** Gives a message's slot back (once); present from dispatch until its outcome is known. */
  private readonly holders = new Map<string, () => void>();

  constructor(
    private readonly concurrency: number,
    private readonly batchSize: number,
    /** Called when a slot comes free and the loop may have room to refill now. */
    private readonly onRoom: () => void,
  ) {}

  get inFlight(): number {
    return this.taken;
  }

  get bulkInFlight(): number {
    return this.bulkTaken;
  }

  get bulkCapacity(): number {
    return this.concurrency - reservedSlots(this.concurrency);
  }

  /** Bulk work is refilled this many free slots at a time (a claim is a query and a commit). */
  get refillAt(): number {
    return Math.max(1, Math.min(this.batchSize, Math.floor(this.bulkCapacity / 4)));
  }

  take(m: MessagesTable): void {
    const bulk = m.priority > URGENT_PRIORITY;
    this.taken++;
    if (bulk) this.bulkTaken++;
    this.holders.set(m.id, () => {
      this.taken--;
      if (bulk) this.bulkTaken--;
      // Wake the loop for a refill once enough bulk slots are free (see claimWindow).
      if (this.bulkCapacity - this.bulkTaken === this.refillAt || this.taken === 0) this.onRoom();
    });
  }

  /** Gives the message's slot back; does nothing when it was given back already. */
  release(messageId: string): void {
    const release = this.holders.get(messageId);
    if (!release) return;
    this.holders.delete(messageId);
    release();
  }
}
