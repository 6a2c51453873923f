// Step 2, screen: whether a claimed message may be sent at all. A recipient suppressed after its
// message was accepted (an earlier hard bounce, say) is not sent, nor is one on the account's
// blacklist ("never send to"). The look-ups are made once per claimed batch, per account.
import type { Context } from '../../context.ts';
import type { MessagesTable } from '../../store/schema.ts';
import { findSuppressed } from '../../store/suppressions.ts';
import { findBlacklisted } from '../../store/blacklist.ts';
import { transactionalTransmissionIds } from '../../store/transmissions.ts';
import { suppressionApplies } from '../../domain/suppression-policy.ts';
import type { Decision } from './record.ts';

/** May be sent; or held back, and why. */
export type Verdict = { send: true } | { blacklisted: true } | { suppressed: string };

const SEND: Verdict = { send: true };

function addressKey(m: MessagesTable): string {
  return `${m.account_id}:${m.recipient.toLowerCase()}`;
}

/** The verdict on every message of a claimed batch, by message id. */
export async function screenBatch(ctx: Context, batch: MessagesTable[]): Promise<Map<string, Verdict>> {
  const byAccount = new Map<string, MessagesTable[]>();
  for (const m of batch) byAccount.set(m.account_id, [...(byAccount.get(m.account_id) ?? []), m]);
  const suppressed = new Map<string, string>();
  const blacklisted = new Set<string>();
  for (const [accountId, list] of byAccount) {
    const emails = [...new Set(list.map((m) => m.recipient.toLowerCase()))];
    const found = await findSuppressed(ctx.db, accountId, emails);
    for (const [email, type] of found) suppressed.set(`${accountId}:${email}`, type);
    for (const email of await findBlacklisted(ctx.db, accountId, emails)) blacklisted.add(`${accountId}:${email}`);
  }
  const transactional = await transactionalAmong(ctx, batch, suppressed);
  const verdicts = new Map<string, Verdict>();
  for (const m of batch) {
    const who = addressKey(m);
    const type = suppressed.get(who);
    const held =
      type !== undefined &&
      suppressionApplies(type, m.transmission_id !== null && transactional.has(m.transmission_id));
    verdicts.set(m.id, blacklisted.has(who) ? { blacklisted: true } : held ? { suppressed: type } : SEND);
  }
  return verdicts;
}

/**
 * The transmissions of the batch sent as transactional mail, looked up only for messages whose
 * address has an entry that depends on it (an unsubscribe holds back marketing mail only).
 */
function transactionalAmong(
  ctx: Context,
  batch: MessagesTable[],
  suppressed: Map<string, string>,
): Promise<Set<string>> {
  const ids = batch
    .filter((m) => m.transmission_id !== null && !suppressionApplies(suppressed.get(addressKey(m)) ?? '', true))
    .map((m) => m.transmission_id!);
  return transactionalTransmissionIds(ctx.db, ids);
}

/**
 * A message held back, as it is recorded: a blacklisted recipient as a policy rejection, a suppressed
 * one exactly as a recipient suppressed at accept is (a bounce event); class 50 either way.
 */
export function refusal(m: MessagesTable, verdict: Exclude<Verdict, { send: true }>, at: number): Decision {
  const [reason, eventType] =
    'blacklisted' in verdict
      ? ['Recipient is on the blacklist of the account', 'policy_rejection']
      : [`Recipient is on the suppression list (${verdict.suppressed})`, 'bounce'];
  return {
    outcome: {
      id: m.id,
      status: 'suppressed',
      lastResponse: reason,
      bounceClass: 50,
      messageIdHeader: null,
      size: null,
      at,
    },
    event: { type: eventType, data: { reason, bounceClass: 50 } },
  };
}
