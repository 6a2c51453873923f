// The suppression policy: what recorded events do to an account's suppression list. Every source
// of bounces, complaints and unsubscribes (the worker's SMTP replies, out-of-band DSNs and ARF
// reports, unsubscribe links, one-click and mailto) records an event, and this one rule decides
// the consequence, so the same fact always has the same effect. Pure: a batch of events in, a plan
// out (which addresses to suppress, which soft-bounce streaks to grow or reset); the event writer
// carries the plan out in the events' own transaction.
import { isHardBounce } from './bounce-classes.ts';
import { ADDITION } from './subscriber-status.ts';

export const SUPPRESSION_TYPES = ['bounce', 'spam_complaint', 'unsubscribe', 'manual'] as const;
export type SuppressionType = (typeof SUPPRESSION_TYPES)[number];

export function isSuppressionType(value: string): value is SuppressionType {
  return (SUPPRESSION_TYPES as readonly string[]).includes(value);
}

export interface SuppressionPolicy {
  /** A hard bounce (classes 10, 30, 90) suppresses the address at once. */
  hardBounces: boolean;
  /** A spam complaint suppresses the address at once. */
  complaints: boolean;
  /** An unsubscribe from everything suppresses the address for marketing mail. */
  unsubscribes: boolean;
  /** This many soft bounces in a row (no delivery between) suppress the address; 0 = never. */
  softBounceLimit: number;
}

export const DEFAULT_SUPPRESSION_POLICY: SuppressionPolicy = {
  hardBounces: true,
  complaints: true,
  unsubscribes: true,
  softBounceLimit: 5,
};

/**
 * Whether an entry of this type holds a message back. An unsubscribe withdraws consent to
 * marketing mail only: a receipt or a password reset (transactional) still goes out.
 */
export function suppressionApplies(type: string, transactional: boolean): boolean {
  return !(transactional && type === 'unsubscribe');
}

/** The statusAddition a subscriber is archived with (status 3) when its address is suppressed. */
export function archiveAdditionFor(type: string): number {
  switch (type) {
    case 'spam_complaint':
      return ADDITION.SPAM_COMPLAINT;
    case 'bounce':
      return ADDITION.HARD_BOUNCE;
    case 'unsubscribe':
      return ADDITION.UNSUBSCRIBED;
    default:
      return ADDITION.MANUAL;
  }
}

/** The fields of a recorded event the policy reads. */
export interface PolicyEvent {
  account_id: string;
  type: string;
  recipient?: string | null;
  data?: string | null;
}

export interface PlannedSuppression {
  accountId: string;
  /** Lower-cased. */
  email: string;
  type: SuppressionType;
  reason: string;
}

export interface PlannedStreak {
  accountId: string;
  email: string;
  /** A delivery came: the streak starts again from `softBounces` (0 = no streak left). */
  reset: boolean;
  /** Soft bounces after the last delivery of the batch (or all of them, without one). */
  softBounces: number;
  lastReason: string;
}

export interface SuppressionPlan {
  suppress: PlannedSuppression[];
  streaks: PlannedStreak[];
}

/** Soft-bounce classes that say something about the address: soft bounce, DNS, mailbox full, too large, timeout. */
const STREAK_CLASSES = new Set([20, 21, 22, 23, 24]);
/**
 * The worker's `via` when no relay could be reached at all: the receiving server was never asked,
 * so the bounce says nothing about the address (an outage of our relay must not suppress anyone).
 */
const NO_RELAY_REACHED = 'none';
const REASON_MAX = 1000;

function dataOf(e: PolicyEvent): Record<string, unknown> {
  if (!e.data) return {};
  try {
    const v = JSON.parse(e.data) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function text(value: unknown, fallback: string): string {
  const s = typeof value === 'string' && value.trim() !== '' ? value.trim() : fallback;
  return s.length > REASON_MAX ? `${s.slice(0, REASON_MAX - 1)}…` : s;
}

type Reaction =
  | { kind: 'suppress'; type: SuppressionType; reason: string }
  | { kind: 'soft'; reason: string }
  | { kind: 'delivered' }
  | null;

/** What one event means for its recipient's address, before the policy's switches. */
function reactionTo(e: PolicyEvent): Reaction {
  // The type first: the data of the many events the policy ignores (injections, opens) is not parsed.
  switch (e.type) {
    case 'delivery':
      // A captured (sandbox) message reached no mailbox: it proves nothing about the address.
      return dataOf(e).captured === true ? null : { kind: 'delivered' };
    case 'bounce': {
      const data = dataOf(e);
      const cls = Number(data.bounceClass ?? 0);
      // Class 50: held back by policy (already suppressed, blacklisted, or the receiver blocks the
      // sender's reputation): nothing new about the address. 60: an auto-reply ("out of office").
      if (cls === 50 || cls === 60) return null;
      if (isHardBounce(cls))
        return {
          kind: 'suppress',
          type: cls === 90 ? 'unsubscribe' : 'bounce',
          reason: text(data.reason, 'Hard bounce'),
        };
      if (STREAK_CLASSES.has(cls) && data.via !== NO_RELAY_REACHED)
        return { kind: 'soft', reason: text(data.reason, 'Soft bounce') };
      return null;
    }
    case 'spam_complaint':
      return {
        kind: 'suppress',
        type: 'spam_complaint',
        reason: text(dataOf(e).reason, 'The recipient reported spam'),
      };
    case 'unsubscribe': {
      const data = dataOf(e);
      // From one channel while still subscribed to others: the person still wants our mail.
      return data.partial === true
        ? null
        : { kind: 'suppress', type: 'unsubscribe', reason: text(data.reason, 'The recipient unsubscribed') };
    }
    default:
      return null;
  }
}

function enabled(type: SuppressionType, policy: SuppressionPolicy): boolean {
  if (type === 'spam_complaint') return policy.complaints;
  if (type === 'unsubscribe') return policy.unsubscribes;
  return policy.hardBounces;
}

/**
 * Whether the event can have a consequence under some policy: the event writer insists on being
 * given the policy for these (a caller that forgot it would silently skip suppressions).
 */
export function concernsSuppression(e: PolicyEvent): boolean {
  return reactionTo(e) !== null;
}

/**
 * The plan for a batch of events, walked in order per address: the first suppression of an
 * address wins; a delivery resets its soft-bounce streak, soft bounces after it count again.
 */
export function planSuppressions(events: readonly PolicyEvent[], policy: SuppressionPolicy): SuppressionPlan {
  const suppress = new Map<string, PlannedSuppression>();
  const streaks = new Map<string, PlannedStreak>();
  for (const e of events) {
    if (!e.recipient) continue;
    const reaction = reactionTo(e);
    if (!reaction) continue;
    const email = e.recipient.toLowerCase();
    const key = `${e.account_id}\u0000${email}`;
    if (suppress.has(key)) continue;
    if (reaction.kind === 'suppress') {
      if (!enabled(reaction.type, policy)) continue;
      suppress.set(key, { accountId: e.account_id, email, type: reaction.type, reason: reaction.reason });
      streaks.delete(key);
      continue;
    }
    if (policy.softBounceLimit <= 0) continue;
    let streak = streaks.get(key);
    if (!streak) {
      streak = { accountId: e.account_id, email, reset: false, softBounces: 0, lastReason: '' };
      streaks.set(key, streak);
    }
    if (reaction.kind === 'delivered') {
      streak.reset = true;
      streak.softBounces = 0;
    } else {
      streak.softBounces++;
      streak.lastReason = reaction.reason;
    }
  }
  return { suppress: [...suppress.values()], streaks: [...streaks.values()] };
}

/** The reason recorded when a streak of soft bounces reaches the limit. */
export function softBounceReason(limit: number, lastReason: string): string {
  return text(`${limit} soft bounces in a row; the last: ${lastReason}`, 'Soft bounces');
}
