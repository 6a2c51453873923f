// Carries out the suppression policy (src/domain/suppression-policy.ts) in the transaction that
// records the events: the suppression entry, the end or growth of a soft-bounce streak, and the
// marketing side of the same fact (the subscriber archived with the matching statusAddition and
// its subscriber.updated / subscriber.unsubscribed events). The manual entries of the suppression
// API take the same path (suppressAddress), so an entry has the same consequences whoever makes it.
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import {
  archiveAdditionFor,
  planSuppressions,
  softBounceReason,
  type PolicyEvent,
  type SuppressionPolicy,
  type SuppressionType,
} from '../domain/suppression-policy.ts';
import { STATUS } from '../domain/subscriber-status.ts';
import {
  findSuppressionByEmail,
  insertSuppression,
  widenUnsubscribeEntry,
  type SuppressionRow,
} from '../store/suppressions.ts';
import { endStreaks, growStreak } from '../store/soft-bounce-streaks.ts';
import { archiveSubscriberByEmail } from '../store/subscriber-archive.ts';
import { recordSubscriberEvents, subscriberUpdateEvents } from './subscriber-events.ts';

export interface SuppressionEntry {
  accountId: string;
  email: string;
  type: SuppressionType;
  reason: string | null;
}

export interface SuppressionOutcome {
  row: SuppressionRow;
  /** False when the address had an entry already (kept, or widened from unsubscribe). */
  created: boolean;
}

/**
 * Puts an address on the account's suppression list with every consequence. An existing entry is
 * kept, except that an unsubscribe entry (marketing mail only) widens to a type that holds back
 * everything. A subscriber with the address that is not archived yet becomes status 3 with the
 * type's statusAddition.
 */
export async function suppressAddress(
  trx: Transaction<Database>,
  entry: SuppressionEntry,
  at: number,
): Promise<SuppressionOutcome> {
  const email = entry.email.toLowerCase();
  const created = await insertSuppression(trx, {
    account_id: entry.accountId,
    email,
    type: entry.type,
    reason: entry.reason,
    created_at: at,
  });
  const widened =
    created || entry.type === 'unsubscribe'
      ? undefined
      : await widenUnsubscribeEntry(trx, entry.accountId, email, entry.type, entry.reason);
  const row = created ?? widened ?? (await findSuppressionByEmail(trx, entry.accountId, email));
  if (!row) throw new Error('a suppression entry vanished between insert and read');
  await endStreaks(trx, entry.accountId, [email]);
  if (created || widened) {
    const addition = archiveAdditionFor(row.type);
    const archived = await archiveSubscriberByEmail(trx, entry.accountId, email, addition, at);
    if (archived)
      await recordSubscriberEvents(
        trx,
        entry.accountId,
        subscriberUpdateEvents(
          archived.id,
          archived.email,
          { status: archived.status, addition: archived.statusAddition },
          { status: STATUS.ARCHIVED, addition },
        ),
        at,
      );
  }
  return { row, created: !!created };
}

const byAddress = (a: { accountId: string; email: string }, b: { accountId: string; email: string }) =>
  a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : a.email < b.email ? -1 : a.email > b.email ? 1 : 0;

/**
 * Applies the policy to a batch of recorded events. Writes happen in address order (concurrent
 * writers on PostgreSQL then lock rows in the same order) and only for addresses the batch says
 * something about: a batch of deliveries costs one DELETE per account that finds nothing unless an
 * address had a streak.
 */
export async function applySuppressionPolicy(
  trx: Transaction<Database>,
  events: readonly (PolicyEvent & { created_at: number })[],
  policy: SuppressionPolicy,
): Promise<void> {
  const plan = planSuppressions(events, policy);
  if (plan.suppress.length === 0 && plan.streaks.length === 0) return;
  const at = events.reduce((max, e) => Math.max(max, e.created_at), 0);

  for (const s of plan.suppress.sort(byAddress)) await suppressAddress(trx, s, at);

  const streaks = plan.streaks.sort(byAddress);
  const ended = new Map<string, string[]>();
  for (const s of streaks)
    if (s.softBounces === 0) ended.set(s.accountId, [...(ended.get(s.accountId) ?? []), s.email]);
  for (const [accountId, emails] of ended) await endStreaks(trx, accountId, emails);

  for (const s of streaks) {
    if (s.softBounces === 0) continue;
    const length = await growStreak(trx, s.accountId, s.email, s.softBounces, s.reset, at);
    if (length >= policy.softBounceLimit)
      await suppressAddress(
        trx,
        { accountId: s.accountId, email: s.email, type: 'bounce', reason: softBounceReason(length, s.lastReason) },
        at,
      );
  }
}
