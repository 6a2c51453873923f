// The marketing surface's subscriber events (subscriber.created, subscriber.updated,
// subscriber.unsubscribed, subscriber.optInConfirmed), written in the caller's transaction with
// the change they report, one multi-row insert however many subscribers a request touched.
// Webhooks read them from the events table like every other event.
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { recordEvents } from './record-events.ts';

export type SubscriberEventType =
  'subscriber.created' | 'subscriber.updated' | 'subscriber.unsubscribed' | 'subscriber.optInConfirmed';

export interface SubscriberChange {
  type: SubscriberEventType;
  subscriberId: number;
  email: string | null;
  status: number;
  statusAddition: number | null;
  /** The channel an unsubscribe or a confirmation was for (null: all / none). */
  channelId?: number | null;
}

/**
 * The subscriber event types an active marketing webhook of the account listens to. These events
 * exist only for webhooks (no counter or statistic reads them), and a new webhook starts at the
 * newest event, so an account without such a webhook skips writing them: a bulk upsert of 1,000
 * subscribers would otherwise write 1,000 event rows nobody reads.
 */
async function listenedTypes(trx: Transaction<Database>, accountId: string): Promise<Set<string>> {
  const hooks = await trx
    .selectFrom('webhooks')
    .select('events')
    .where('account_id', '=', accountId)
    .where('surface', '=', 'marketing')
    .where('active', '=', 1)
    .execute();
  const types = new Set<string>();
  for (const h of hooks)
    for (const name of JSON.parse(h.events) as string[]) if (name.startsWith('subscriber.')) types.add(name);
  return types;
}

export async function recordSubscriberEvents(
  trx: Transaction<Database>,
  accountId: string,
  all: SubscriberChange[],
  now: number,
): Promise<void> {
  if (all.length === 0) return;
  const listened = await listenedTypes(trx, accountId);
  const changes = all.filter((c) => listened.has(c.type));
  if (changes.length === 0) return;
  await recordEvents(
    trx,
    changes.map((c) => ({
      account_id: accountId,
      type: c.type,
      message_id: null,
      transmission_id: null,
      mailing_id: null,
      recipient: c.email,
      data: JSON.stringify({
        subscriberId: c.subscriberId,
        status: c.status,
        statusAddition: c.statusAddition,
        ...(c.channelId !== undefined ? { channelId: c.channelId } : {}),
      }),
      created_at: now,
    })),
  );
}

interface Pair {
  status: number;
  addition: number | null;
}

/**
 * A change through the API: subscriber.updated, plus subscriber.unsubscribed when it archived the subscriber as
 * unsubscribed (3/2).
 */
export function subscriberUpdateEvents(
  subscriberId: number,
  email: string | null,
  before: Pair,
  after: Pair,
): SubscriberChange[] {
  const base = { subscriberId, email, status: after.status, statusAddition: after.addition };
  const unsubscribed = after.status === 3 && after.addition === 2 && !(before.status === 3 && before.addition === 2);
  return unsubscribed
    ? [
        { type: 'subscriber.updated', ...base },
        { type: 'subscriber.unsubscribed', ...base, channelId: null },
      ]
    : [{ type: 'subscriber.updated', ...base }];
}
