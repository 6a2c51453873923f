// Double opt-in and the subscriber's own pages: the opt-in mail goes out through the delivery
// engine like any transmission (one transmission, one outbox row, committed together with
// opt_in_sent_at); the token behind each link says which subscriber, account and channel it is for.
import type { Transaction } from 'kysely';
import type { Context } from '../context.ts';
import type { Database } from '../store/schema.ts';
import { findMailing } from '../store/mailings.ts';
import { ServiceError, invalid, notFound } from './errors.ts';
import { openToken, sealToken, TOKEN_LIFETIME_MS, type TokenPayload, type TokenPurpose } from '../domain/tokens.ts';
import { defaultOptInMail, type OptInMailData } from '../domain/opt-in-mail.ts';
import { accentColor, PAGE_LANGUAGES, pageLanguage, type PageLanguage } from '../domain/public-page-strings.ts';
import { compileMessage, renderMessage } from '../domain/render.ts';
import { ADDITION, STATUS } from '../domain/subscriber-status.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import { queueSystemMail } from './system-mail.ts';
import { recordEvents } from '../events/record-events.ts';
import { recordSubscriberEvents } from '../events/subscriber-events.ts';
import { addUsage } from '../store/usage.ts';
import {
  addChannelSubscriptions,
  archiveAsUnsubscribed,
  confirmPendingSubscriber,
  findChannel,
  findLiveSubscriber,
  listAccountChannels,
  markOptInSent,
  removeChannelSubscriptions,
  subscribedChannelIds,
  updateProfile,
  type ChannelRow,
  type SubscriberRow,
} from '../store/opt-in.ts';

/** What every public page shows around its content. */
export interface PageFrame {
  language: PageLanguage;
  channel: { id: number; name: string; color: string | null } | null;
}

export interface ConfirmResult extends PageFrame {
  alreadyConfirmed: boolean;
  preferencesToken: string;
}

export interface UnsubscribeResult extends PageFrame {
  /** The token's channel, or null for "all our emails". */
  scope: 'channel' | 'all';
  preferencesToken: string;
}

export interface PreferencesView extends PageFrame {
  email: string;
  firstname: string;
  lastname: string;
  languageIso: PageLanguage;
  archived: boolean;
  channels: Array<{ id: number; name: string; subscribed: boolean }>;
  unsubscribeToken: string;
}

export interface PreferencesInput {
  firstname?: string;
  lastname?: string;
  languageIso?: string;
  channelIds: number[];
}

const NAME_MAX = 100;

function issue(
  ctx: Context,
  purpose: TokenPurpose,
  accountId: string,
  subscriberId: number,
  channelId: number | null,
): string {
  return sealToken(ctx.secret, {
    purpose,
    accountId,
    subscriberId,
    channelId,
    exp: ctx.clock() + TOKEN_LIFETIME_MS[purpose],
  });
}

export function publicLink(ctx: Context, page: 'confirm' | 'unsubscribe' | 'preferences', token: string): string {
  return `${ctx.config.publicUrl}/p/${page}/${token}`;
}

function frame(subscriber: SubscriberRow, channel: ChannelRow | undefined): PageFrame {
  return {
    language: pageLanguage(subscriber.language_iso ?? channel?.language_iso),
    channel: channel ? { id: Number(channel.id), name: channel.name, color: channel.color } : null,
  };
}

function singleLine(value: string | null | undefined): string {
  return (value ?? '').replace(/[\r\n\0]+/g, ' ').trim();
}

/** A mail to one subscriber: the built-in opt-in mail or a channel's own opt-in/opt-out mailing. */
interface SubscriberMail {
  subject: string;
  html: string | null;
  text: string | null;
  senderEmail: string | null;
  senderName: string | null;
  replyTo: string | null;
  kind: 'opt-in' | 'opt-out';
}

/**
 * The channel's own mailing of this type, when it names one that still exists with that type and
 * content (a mailing changed since it was chosen is checked again here); else null.
 */
async function channelMailing(
  ctx: Context,
  accountId: string,
  id: number | null | undefined,
  type: 'optIn' | 'optOut',
): Promise<SubscriberMail | null> {
  if (id === null || id === undefined) return null;
  const m = await findMailing(ctx.db, accountId, Number(id));
  if (!m || m.type !== type || !m.subject || (!m.html && !m.text)) return null;
  if (type === 'optIn' && !/\{\{-?\s*confirmUrl\b/.test(`${m.html ?? ''} ${m.text ?? ''}`)) {
    ctx.log.warn({ accountId, mailingId: id }, 'the opt-in mailing has no {{ confirmUrl }}; the built-in mail is sent');
    return null;
  }
  return {
    subject: m.subject,
    html: m.html,
    text: m.text,
    senderEmail: m.sender_email,
    senderName: m.sender_name,
    replyTo: m.reply_to,
    kind: type === 'optIn' ? 'opt-in' : 'opt-out',
  };
}

/**
 * Queues a system mail to a subscriber, committed with `alongside` (opt_in_sent_at, say). It needs
 * no API key or verified sending domain, and it is not held back by the quota (a signup must not
 * fail because a newsletter used the month's volume), though it is counted.
 */
async function queueSubscriberMail(
  ctx: Context,
  accountId: string,
  subscriber: SubscriberRow,
  channel: ChannelRow | undefined,
  mail: SubscriberMail,
  data: Record<string, string>,
  unsubscribeUrl: string,
  alongside: (trx: Transaction<Database>, now: number) => Promise<void> = async () => {},
): Promise<void> {
  const now = ctx.clock();
  const fromEmail = mail.senderEmail || channel?.sender_email || `noreply@${new URL(ctx.config.publicUrl).hostname}`;
  const fromName = singleLine(mail.senderName || channel?.sender_name || channel?.name) || undefined;
  const replyTo = mail.replyTo || channel?.reply_to;
  const recipientName = singleLine([subscriber.firstname, subscriber.lastname].filter(Boolean).join(' ')) || null;
  const content: TransmissionContent = {
    from: fromName ? { email: fromEmail, name: fromName } : { email: fromEmail },
    to: [recipientName ? { email: subscriber.email!, name: recipientName } : { email: subscriber.email! }],
    cc: [],
    replyTo: replyTo ? [{ email: replyTo }] : [],
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    templateId: null,
    headers: [
      { name: 'List-Unsubscribe', value: `<${unsubscribeUrl}>` },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
      { name: 'Auto-Submitted', value: 'auto-generated' },
    ],
    attachments: [],
    substitutionData: { ...data },
    metadata: { posthorn: mail.kind, subscriberId: String(subscriber.id) },
    options: { clickTracking: false, openTracking: false, transactional: true, sandbox: false },
    campaignId: null,
    labels: [mail.kind],
  };
  // A mail that cannot render must fail here, not in the worker.
  const rendered = renderMessage(compileMessage(content), content.substitutionData);

  await ctx.db.transaction().execute(async (trx) => {
    await queueSystemMail(trx, {
      accountId,
      content,
      subject: rendered.subject,
      recipient: subscriber.email!,
      recipientName,
      now,
    });
    await addUsage(trx, accountId, new Date(now).toISOString().slice(0, 10), 1);
    await alongside(trx, now);
  });
}

/** What every subscriber mail may use: the channel, the subscriber's name and address. */
function mailData(subscriber: SubscriberRow, channel: ChannelRow | undefined) {
  return {
    channelName: channel?.name ?? 'Newsletter',
    firstname: singleLine(subscriber.firstname),
    lastname: singleLine(subscriber.lastname),
    email: subscriber.email!,
    accentColor: accentColor(channel?.color),
  };
}

/**
 * Sends the opt-in mail to a subscriber and records opt_in_sent_at: the channel's own optIn
 * mailing when it names one, else the built-in mail in the subscriber's language.
 */
export async function sendOptInMail(
  ctx: Context,
  accountId: string,
  subscriberId: number,
  channelId: number | null,
): Promise<void> {
  const subscriber = await findLiveSubscriber(ctx.db, accountId, subscriberId);
  if (!subscriber || !subscriber.email) throw notFound('subscriber');
  const channel = channelId === null ? undefined : await findChannel(ctx.db, accountId, channelId);
  if (channelId !== null && !channel)
    throw new ServiceError('not_found', `channel ${channelId} not found`, 'channelId');

  const { language } = frame(subscriber, channel);
  const builtIn = defaultOptInMail(language);
  const mail = (await channelMailing(ctx, accountId, channel?.opt_in_mailing_id, 'optIn')) ?? {
    ...builtIn,
    senderEmail: null,
    senderName: null,
    replyTo: null,
    kind: 'opt-in' as const,
  };
  const unsubscribeUrl = publicLink(ctx, 'unsubscribe', issue(ctx, 'unsubscribe', accountId, subscriberId, channelId));
  const data: OptInMailData & Record<string, string> = {
    ...mailData(subscriber, channel),
    confirmUrl: publicLink(ctx, 'confirm', issue(ctx, 'confirm', accountId, subscriberId, channelId)),
    unsubscribeUrl,
  };
  await queueSubscriberMail(ctx, accountId, subscriber, channel, mail, data, unsubscribeUrl, (trx, now) =>
    markOptInSent(trx, accountId, subscriberId, now),
  );
}

/**
 * After an unsubscribe from `channelIds` (in that order), the goodbye mail of the first of them
 * that names an optOut mailing; none when no channel does. A failure is logged: the unsubscribe
 * itself is done.
 */
export async function sendGoodbyeMail(
  ctx: Context,
  accountId: string,
  subscriberId: number,
  channelIds: number[],
): Promise<void> {
  try {
    for (const channelId of channelIds) {
      const channel = await findChannel(ctx.db, accountId, channelId);
      const mail = await channelMailing(ctx, accountId, channel?.opt_out_mailing_id, 'optOut');
      if (!channel || !mail) continue;
      const subscriber = await findLiveSubscriber(ctx.db, accountId, subscriberId);
      if (!subscriber?.email) return;
      const preferences = publicLink(ctx, 'preferences', issue(ctx, 'preferences', accountId, subscriberId, null));
      const unsubscribeUrl = publicLink(ctx, 'unsubscribe', issue(ctx, 'unsubscribe', accountId, subscriberId, null));
      const data = { ...mailData(subscriber, channel), preferencesUrl: preferences, unsubscribeUrl };
      await queueSubscriberMail(ctx, accountId, subscriber, channel, mail, data, unsubscribeUrl);
      return;
    }
  } catch (error) {
    ctx.log.error({ err: error, accountId, subscriberId }, 'could not send the goodbye mail');
  }
}

/** The payload of a valid token of this purpose whose subscriber still exists; else a not_found. */
async function resolve(
  ctx: Context,
  token: string,
  purpose: TokenPurpose,
): Promise<{ payload: TokenPayload; subscriber: SubscriberRow; channel: ChannelRow | undefined }> {
  const payload = openToken(ctx.secret, token, purpose, ctx.clock());
  if (!payload) throw notFound('link');
  const subscriber = await findLiveSubscriber(ctx.db, payload.accountId, payload.subscriberId);
  if (!subscriber || !subscriber.email) throw notFound('link');
  // A channel deleted since the mail went out no longer brands the page; the link still works.
  const channel = payload.channelId ? await findChannel(ctx.db, payload.accountId, payload.channelId) : undefined;
  return { payload, subscriber, channel };
}

/**
 * Confirms a pending subscriber (2/1 → 1/null with time and IP) and subscribes it to the token's
 * channel. Confirming again changes nothing. An archived subscriber is not brought back by an old
 * confirmation link: leaving "archived" takes a new signup or the API's reactivate permissions.
 */
export async function confirmOptIn(ctx: Context, token: string, ip: string | null): Promise<ConfirmResult> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'confirm');
  if (subscriber.status === STATUS.ARCHIVED) throw notFound('link');
  const now = ctx.clock();
  let confirmed = false;
  let joined = false;
  await ctx.db.transaction().execute(async (trx) => {
    confirmed = await confirmPendingSubscriber(trx, payload.accountId, subscriber.id, ip, now);
    // A subscriber already on the list confirms joining one more channel (the signup page sends
    // such a link); a pending one joins the channel by confirming at all.
    if (channel && (confirmed || subscriber.status === STATUS.READY)) {
      const before = await subscribedChannelIds(trx, payload.accountId, subscriber.id);
      joined = !before.includes(Number(channel.id));
      await addChannelSubscriptions(trx, payload.accountId, subscriber.id, [Number(channel.id)], now);
    }
    if (confirmed || joined)
      await recordSubscriberEvents(
        trx,
        payload.accountId,
        [
          {
            type: 'subscriber.optInConfirmed',
            subscriberId: Number(subscriber.id),
            email: subscriber.email,
            status: STATUS.READY,
            statusAddition: null,
            channelId: channel ? Number(channel.id) : null,
          },
        ],
        now,
      );
  });
  return {
    ...frame(subscriber, channel),
    alreadyConfirmed: !confirmed && !joined,
    preferencesToken: issue(ctx, 'preferences', payload.accountId, subscriber.id, payload.channelId ?? null),
  };
}

export interface ConfirmQuestion extends PageFrame {
  /** Nothing left to confirm: the subscriber is on the list (and in the token's channel). */
  alreadyConfirmed: boolean;
  preferencesToken: string;
}

/**
 * What the confirm page shows before its button is pressed; changes nothing (mail scanners and
 * link prefetchers open the link too). An archived subscriber's link is a 404, as on confirming.
 */
export async function describeConfirm(ctx: Context, token: string): Promise<ConfirmQuestion> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'confirm');
  if (subscriber.status === STATUS.ARCHIVED) throw notFound('link');
  const inChannel =
    !channel || (await subscribedChannelIds(ctx.db, payload.accountId, subscriber.id)).includes(Number(channel.id));
  return {
    ...frame(subscriber, channel),
    alreadyConfirmed: subscriber.status === STATUS.READY && inChannel,
    preferencesToken: issue(ctx, 'preferences', payload.accountId, subscriber.id, payload.channelId ?? null),
  };
}

/** What the unsubscribe page shows before the button is pressed; changes nothing. */
export async function describeUnsubscribe(ctx: Context, token: string): Promise<UnsubscribeResult> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'unsubscribe');
  return {
    ...frame(subscriber, channel),
    scope: channel ? 'channel' : 'all',
    preferencesToken: issue(ctx, 'preferences', payload.accountId, subscriber.id, payload.channelId ?? null),
  };
}

/**
 * Unsubscribes from the token's channel, or from everything when the token names none. A
 * subscriber left without any channel is archived as unsubscribed (3/2); one archived for another
 * reason (complaint, bounce) keeps that reason. Repeating it is harmless.
 */
export async function unsubscribeByToken(ctx: Context, token: string): Promise<UnsubscribeResult> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'unsubscribe');
  const now = ctx.clock();
  let left: number[] = [];
  await ctx.db.transaction().execute(async (trx) => {
    // Only a change is an unsubscribe event (counted in statistics): pressing the button twice is not.
    const before = await subscribedChannelIds(trx, payload.accountId, subscriber.id);
    left = channel ? before.filter((id) => id === Number(channel.id)) : before;
    const changed = channel
      ? before.includes(Number(channel.id))
      : before.length > 0 || subscriber.status !== STATUS.ARCHIVED;
    await removeChannelSubscriptions(trx, payload.accountId, subscriber.id, channel ? [Number(channel.id)] : null);
    const remaining = channel ? await subscribedChannelIds(trx, payload.accountId, subscriber.id) : [];
    if (remaining.length === 0) await archiveAsUnsubscribed(trx, payload.accountId, subscriber.id, now);
    if (changed) {
      const data = JSON.stringify({
        subscriberId: subscriber.id,
        channelId: channel ? Number(channel.id) : null,
        // Still subscribed to other channels: the suppression policy leaves the address alone.
        ...(remaining.length > 0 ? { partial: true } : {}),
      });
      const mailingId = payload.mailingId ? String(payload.mailingId) : null;
      await recordEvents(
        trx,
        [
          {
            account_id: payload.accountId,
            type: 'unsubscribe',
            message_id: null,
            transmission_id: null,
            mailing_id: mailingId,
            recipient: subscriber.email,
            data,
            created_at: now,
          },
        ],
        { policy: ctx.config.suppression },
      );
      const after =
        remaining.length === 0 && subscriber.status !== STATUS.ARCHIVED
          ? { status: STATUS.ARCHIVED, statusAddition: ADDITION.UNSUBSCRIBED }
          : { status: subscriber.status, statusAddition: subscriber.status_addition };
      await recordSubscriberEvents(
        trx,
        payload.accountId,
        [
          {
            type: 'subscriber.unsubscribed',
            subscriberId: Number(subscriber.id),
            email: subscriber.email,
            ...after,
            channelId: channel ? Number(channel.id) : null,
          },
        ],
        now,
      );
    }
  });
  if (left.length > 0) await sendGoodbyeMail(ctx, payload.accountId, subscriber.id, left);
  return {
    ...frame(subscriber, channel),
    scope: channel ? 'channel' : 'all',
    preferencesToken: issue(ctx, 'preferences', payload.accountId, subscriber.id, payload.channelId ?? null),
  };
}

async function preferencesOf(
  ctx: Context,
  accountId: string,
  subscriber: SubscriberRow,
  channel: ChannelRow | undefined,
  channelId: number | null,
): Promise<PreferencesView> {
  const [channels, subscribed] = await Promise.all([
    listAccountChannels(ctx.db, accountId),
    subscribedChannelIds(ctx.db, accountId, subscriber.id),
  ]);
  const mine = new Set(subscribed);
  const f = frame(subscriber, channel);
  return {
    ...f,
    email: subscriber.email ?? '',
    firstname: subscriber.firstname ?? '',
    lastname: subscriber.lastname ?? '',
    languageIso: f.language,
    archived: subscriber.status === STATUS.ARCHIVED,
    channels: channels.map((c) => ({ id: Number(c.id), name: c.name, subscribed: mine.has(Number(c.id)) })),
    unsubscribeToken: issue(ctx, 'unsubscribe', accountId, subscriber.id, channelId),
  };
}

export async function getPreferences(ctx: Context, token: string): Promise<PreferencesView> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'preferences');
  return preferencesOf(ctx, payload.accountId, subscriber, channel, null);
}

function cleanName(value: string | undefined, field: string): string | null {
  const v = (value ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (v.length > NAME_MAX) throw invalid(field, `must be at most ${NAME_MAX} characters`);
  return v === '' ? null : v;
}

/**
 * Saves name, language and channel subscriptions as the form sent them: a channel not ticked is
 * unsubscribed. The subscriber's status is not changed here (an archived address stays archived:
 * coming back takes a new double opt-in).
 */
export async function updatePreferences(
  ctx: Context,
  token: string,
  input: PreferencesInput,
): Promise<PreferencesView> {
  const { payload, subscriber, channel } = await resolve(ctx, token, 'preferences');
  const firstname = cleanName(input.firstname, 'firstname');
  const lastname = cleanName(input.lastname, 'lastname');
  const languageIso = (input.languageIso ?? subscriber.language_iso ?? 'en').toLowerCase();
  if (!(PAGE_LANGUAGES as readonly string[]).includes(languageIso))
    throw invalid('languageIso', 'is not one of the offered languages');
  const now = ctx.clock();
  await ctx.db.transaction().execute(async (trx) => {
    const accountChannels = (await listAccountChannels(trx, payload.accountId)).map((c) => Number(c.id));
    const wanted = new Set(input.channelIds.filter((id) => accountChannels.includes(id)));
    const current = new Set(await subscribedChannelIds(trx, payload.accountId, subscriber.id));
    await addChannelSubscriptions(
      trx,
      payload.accountId,
      subscriber.id,
      [...wanted].filter((id) => !current.has(id)),
      now,
    );
    await removeChannelSubscriptions(
      trx,
      payload.accountId,
      subscriber.id,
      [...current].filter((id) => accountChannels.includes(id) && !wanted.has(id)),
    );
    await updateProfile(trx, payload.accountId, subscriber.id, { firstname, lastname, language_iso: languageIso }, now);
  });
  const fresh = await findLiveSubscriber(ctx.db, payload.accountId, subscriber.id);
  if (!fresh) throw notFound('link');
  return preferencesOf(ctx, payload.accountId, fresh, channel, null);
}
