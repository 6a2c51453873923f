// Which outbox message a report is about. The VERP id comes first (the address the report was sent
// to, else the Return-Path or Original-Mail-From the report quotes): it names one outbox row. Then
// the original's Message-ID: Posthorn's own Message-IDs carry the outbox id, a submitted message's
// own one is looked up in the outbox. A report about several recipients finds each recipient's row
// among the rows of that Message-ID, or among the rows of the same transmission or mailing.
import type { Context } from '../context.ts';
import type { InboundReport } from '../domain/inbound-report.ts';
import { outboxIdOfMessageId, verpIdOf } from '../domain/return-path-address.ts';
import {
  findOutboxByMessageIdHeader,
  findOutboxMessage,
  findSiblingForRecipient,
  type OutboxRef,
} from '../store/inbound.ts';

export interface Anchor {
  /** The row the report names (VERP) or the first row of its Message-ID; null: no message found. */
  message: OutboxRef | null;
  /** Every row that went out with the original's Message-ID. */
  sameMessageId: OutboxRef[];
  /** How the anchor was found. */
  matchedBy: 'verp' | 'message-id' | null;
}

export async function findAnchor(
  ctx: Context,
  verpIdFromRecipient: string | null,
  report: InboundReport,
): Promise<Anchor> {
  const verpIds = [verpIdFromRecipient, report.original.verpId, verpIdOf(report.complaint?.originalMailFrom)].filter(
    (id): id is string => !!id,
  );
  const messageId = report.original.messageId;
  const sameMessageId = messageId ? await findOutboxByMessageIdHeader(ctx.db, messageId) : [];
  for (const id of new Set(verpIds)) {
    const message = await findOutboxMessage(ctx.db, id);
    if (message) return { message, sameMessageId, matchedBy: 'verp' };
  }
  const own = outboxIdOfMessageId(messageId);
  const byOwnId = own ? await findOutboxMessage(ctx.db, own) : undefined;
  // Our Message-ID names its row; a look-alike from elsewhere must also have gone out with it.
  if (byOwnId && byOwnId.message_id_header === messageId)
    return { message: byOwnId, sameMessageId, matchedBy: 'message-id' };
  if (sameMessageId.length > 0) return { message: sameMessageId[0], sameMessageId, matchedBy: 'message-id' };
  return { message: null, sameMessageId, matchedBy: null };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The row a recipient of the report stands for. `alone`: the report speaks of this recipient only,
 * so an address that matches nothing (a forwarding address, an alias the receiving side expanded)
 * is taken to be the anchor's own recipient.
 */
export async function rowForRecipient(
  ctx: Context,
  anchor: Anchor,
  recipient: string | null,
  alone: boolean,
): Promise<OutboxRef | null> {
  const message = anchor.message;
  if (!recipient) return message;
  if (message && same(message.recipient, recipient)) return message;
  // Another account's message may carry the same Message-ID (a submitted one): the anchor's account only.
  const byHeader = anchor.sameMessageId.find(
    (r) => same(r.recipient, recipient) && (!message || r.account_id === message.account_id),
  );
  if (byHeader) return byHeader;
  if (message) {
    const sibling = await findSiblingForRecipient(ctx.db, message, recipient);
    if (sibling) return sibling;
  }
  return alone ? message : null;
}
