// A mail to a message's List-Unsubscribe mailto (`unsubscribe+<outbox id>@…`, RFC 2369) unsubscribes
// exactly as the one-click link of the same message does: the link's token is made again for the
// message's subscriber and mailing, and the link's own service function does the rest (channel or
// all, archive, events, suppression, goodbye mail). A message without a subscriber (a transactional
// one, should its sender have added such a header) records an unsubscribe event for its recipient,
// which the suppression policy turns into an entry that holds back marketing mail.
import type { Context } from '../context.ts';
import { ServiceError } from './errors.ts';
import { unsubscribeByToken } from './opt-in.ts';
import { recordEvents } from '../events/record-events.ts';
import { sealToken, TOKEN_LIFETIME_MS } from '../domain/tokens.ts';
import { findMailing } from '../store/mailings.ts';
import type { OutboxRef } from '../store/inbound.ts';

export type MailtoUnsubscribeResult = 'unsubscribed' | 'not_found';

export async function unsubscribeByMailto(ctx: Context, message: OutboxRef): Promise<MailtoUnsubscribeResult> {
  const now = ctx.clock();
  const mailingId = message.mailing_id !== null && /^\d+$/.test(message.mailing_id) ? Number(message.mailing_id) : null;
  const mailing = mailingId !== null ? await findMailing(ctx.db, message.account_id, mailingId) : undefined;
  if (mailing && message.subscriber_id) {
    const token = sealToken(ctx.secret, {
      purpose: 'unsubscribe',
      accountId: message.account_id,
      subscriberId: message.subscriber_id,
      channelId: mailing.channel_id,
      mailingId: mailing.id,
      exp: now + TOKEN_LIFETIME_MS.unsubscribe,
    });
    try {
      await unsubscribeByToken(ctx, token);
      return 'unsubscribed';
    } catch (error) {
      // The subscriber was deleted since: nobody left to unsubscribe.
      if (error instanceof ServiceError && error.reason === 'not_found') return 'not_found';
      throw error;
    }
  }
  await ctx.db.transaction().execute((trx) =>
    recordEvents(
      trx,
      [
        {
          account_id: message.account_id,
          type: 'unsubscribe',
          message_id: message.id,
          transmission_id: message.transmission_id,
          mailing_id: message.mailing_id,
          recipient: message.recipient,
          data: JSON.stringify({ via: 'mailto' }),
          created_at: now,
        },
      ],
      { policy: ctx.config.suppression },
    ),
  );
  return 'unsubscribed';
}
