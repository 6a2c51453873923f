// Who a mailing goes to, and what its templates see for each of them. The audience is resolved
// when a fan-out step runs (dynamic groups are evaluated at send time, batch by batch); the
// variables carry the subscriber's fields, custom fields and signed links.
import type { Context } from '../context.ts';
import { ServiceError } from './errors.ts';
import { membershipOf, subscriberShape } from './subscriber-groups.ts';
import { findGroup } from '../store/subscriber-groups.ts';
import type { AudienceFilter, AudienceSubscriber, MailingRow } from '../store/mailings.ts';
import type { SearchAst } from '../domain/query-grammar.ts';
import { recipientVariables, signedRecipientLinks, type RecipientLinks } from '../domain/mailing-content.ts';
import { parseJson } from '../domain/json.ts';

export function groupIdsOf(mailing: Pick<MailingRow, 'subscriber_group_ids'>): number[] {
  const ids = parseJson<unknown>(mailing.subscriber_group_ids, []);
  return Array.isArray(ids) ? ids.filter((x): x is number => Number.isSafeInteger(x)) : [];
}

/**
 * The mailing's audience filter. Groups deleted since the mailing was written contribute nobody;
 * a dynamic group whose conditions no longer parse contributes nobody either (and is logged).
 */
export async function audienceOf(ctx: Context, mailing: MailingRow): Promise<AudienceFilter> {
  const ids = groupIdsOf(mailing);
  const base = { accountId: mailing.account_id, channelId: mailing.channel_id };
  if (ids.length === 0) return { ...base, groups: null };
  const staticIds: number[] = [];
  const dynamic: SearchAst[] = [];
  for (const id of ids) {
    const row = await findGroup(ctx.db, mailing.account_id, id);
    if (!row) continue;
    const group = { ...row, id: Number(row.id), type: Number(row.type) };
    try {
      const membership = await membershipOf(ctx, mailing.account_id, group);
      if (membership.kind === 'rows') staticIds.push(group.id);
      else dynamic.push(membership.ast);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      ctx.log.warn(
        { mailingId: mailing.id, groupId: id, err: error.detail },
        'dynamic group conditions do not parse; the group adds nobody',
      );
    }
  }
  return { ...base, groups: { staticIds, dynamic } };
}

export const audienceShape = subscriberShape;

/** The three links every mailing carries, signed for this subscriber and mailing. */
export function recipientLinks(ctx: Context, mailing: MailingRow, subscriberId: number): RecipientLinks {
  return signedRecipientLinks(
    { secret: ctx.secret, publicUrl: ctx.config.publicUrl },
    ctx.clock(),
    mailing,
    subscriberId,
  );
}

export function mailingVariables(
  ctx: Context,
  mailing: MailingRow,
  subscriber: AudienceSubscriber,
  fieldValues: ReadonlyMap<number, string | null> | undefined,
  fieldNames: ReadonlyMap<number, string[]>,
  links: RecipientLinks = recipientLinks(ctx, mailing, subscriber.id),
): Record<string, unknown> {
  const customerFields = parseJson<Record<string, unknown>>(mailing.customer_fields, {});
  return recipientVariables(subscriber, fieldValues, fieldNames, links, {
    id: mailing.id,
    name: mailing.name,
    customerFields,
  });
}
