// Step 1, claim: which due messages the worker takes now, and taking them under a lease.
// Transactional mail (priority 0) is claimed first and never waits for a free slot; bulk mail is
// refilled a quarter of its share of the slots at a time, not after every message, since each
// claim is a query and a commit (plus the suppression and blacklist look-ups of its batch).
import type { Context } from '../../context.ts';
import type { MessagesTable } from '../../store/schema.ts';
import { claimDueMessages } from '../../store/messages.ts';
import { unsyncedTransaction } from '../../store/unsynced-write.ts';
import { URGENT_PRIORITY } from '../slots.ts';

export interface ClaimState {
  concurrency: number;
  batchSize: number;
  inFlight: number;
  bulkInFlight: number;
  bulkCapacity: number;
  refillAt: number;
  /** Messages worked on, those whose outcome waits for its commit included. */
  active: number;
  /** An accept in this process asked for a look (it may be urgent). */
  newWork: boolean;
  /** Urgent mail alone was last looked for long enough ago to look again. */
  urgentLookDue: boolean;
}

/** How many messages to claim now, and whether only urgent ones; null: no claim this turn. */
export function claimWindow(s: ClaimState): { limit: number; urgentOnly: boolean } | null {
  // Messages whose outcome waits for its commit hold no slot, but are bounded too: a database
  // slower than the relay must slow the sending down, not pile up outcomes in memory.
  const room = Math.min(s.batchSize, s.concurrency - s.inFlight, 2 * s.concurrency - s.active);
  const bulkRoom = Math.min(room, s.bulkCapacity - s.bulkInFlight);
  const refill = bulkRoom > 0 && (bulkRoom >= s.refillAt || s.inFlight === 0);
  if (refill) return { limit: bulkRoom, urgentOnly: false };
  // With bulk at its share (or not due for a refill), only urgent mail is claimed.
  if (room > 0 && (s.newWork || s.urgentLookDue)) return { limit: room, urgentOnly: true };
  return null;
}

/** Claims up to `limit` due messages, urgent first, under a lease of this owner. */
export function claimMessages(
  ctx: Context,
  owner: string,
  now: number,
  window: { limit: number; urgentOnly: boolean },
): Promise<MessagesTable[]> {
  // A claim lost in a power failure only queues its messages again: no flush of its own.
  return unsyncedTransaction(ctx.db, ctx.dialect, (trx) =>
    claimDueMessages(
      trx,
      ctx.dialect,
      owner,
      now,
      ctx.config.worker.leaseSeconds * 1000,
      window.limit,
      window.urgentOnly ? URGENT_PRIORITY : undefined,
    ),
  );
}
