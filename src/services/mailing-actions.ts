// A mailing's life: send now, schedule, pause, resume, cancel. Each is a conditional UPDATE on
// the mailing's status (so two racing requests cannot both win), plus — for pause, resume and
// cancel — the same change on its unsent messages, in one transaction. The fan-out loop
// (mailing-fanout.ts) does the sending itself.
import type { Context } from '../context.ts';
import { ServiceError } from './errors.ts';
import { allowedIn, refusal, missingForSend, HELD_STATUS, type MailingAction } from '../domain/mailing-rules.ts';
import { compile, TemplateError } from '../domain/render.ts';
import { mailingTemplates } from '../domain/mailing-content.ts';
import { domainOf } from '../domain/email-address.ts';
import * as store from '../store/mailings.ts';
import type { MailingChanges, MailingRow } from '../store/mailings.ts';
import { findChannel } from '../store/channels.ts';
import { findTemplate } from '../store/templates.ts';
import { isDomainVerified } from '../store/domains.ts';
import { findMailingOr404 } from './mailings.ts';
import { checkTriggerActivation, triggerKeyTaken } from './trigger-mailings.ts';
import { isUniqueViolation } from '../store/subscribers.ts';
import { ensureAccountMaySend } from './account-status.ts';
import { checkQuota } from './quota.ts';
import { audienceOf, audienceShape } from './mailing-audience.ts';
import { countAudience } from '../store/mailings.ts';

const conflict = (action: MailingAction, status: string) => new ServiceError('conflict', refusal(action, status));

/**
 * What the mailing goes out with: its own fields, then the template's content and the channel's
 * sender for whatever it leaves empty. Refuses (422) a mailing that cannot be sent as it is.
 */
export async function resolveForSend(
  ctx: Context,
  m: MailingRow,
): Promise<
  MailingChanges & Pick<MailingRow, 'subject' | 'html' | 'text' | 'sender_email' | 'sender_name' | 'reply_to'>
> {
  await ensureAccountMaySend(ctx, m.account_id);
  const template = m.template_id ? await findTemplate(ctx.db, m.account_id, m.template_id) : undefined;
  const channel = m.channel_id !== null ? await findChannel(ctx.db, m.account_id, m.channel_id) : undefined;
  const resolved = {
    subject: m.subject ?? template?.subject ?? null,
    html: m.html ?? (m.text === null ? (template?.html ?? null) : null),
    text: m.text ?? (m.html === null ? (template?.text ?? null) : null),
    sender_email: m.sender_email ?? channel?.sender_email ?? null,
    sender_name: m.sender_name ?? channel?.sender_name ?? null,
    reply_to: m.reply_to ?? channel?.reply_to ?? null,
  };
  const missing = Object.entries(
    missingForSend({
      subject: resolved.subject,
      html: resolved.html,
      text: resolved.text,
      senderEmail: resolved.sender_email,
    }),
  );
  if (missing.length > 0) throw new ServiceError('invalid', missing[0][1], missing[0][0]);
  const templates = mailingTemplates({ ...resolved, preheader: m.preheader });
  try {
    compile(templates.subject, 'subject', 'text');
    if (templates.html !== null) compile(templates.html, 'html', 'html');
    if (templates.text !== null) compile(templates.text, 'text', 'text');
  } catch (error) {
    if (error instanceof TemplateError) throw new ServiceError('template_error', error.message, error.part);
    throw error;
  }
  if (
    ctx.config.delivery !== 'capture' &&
    ctx.config.requireVerifiedDomain &&
    !(await isDomainVerified(ctx.db, m.account_id, domainOf(resolved.sender_email!)))
  ) {
    throw new ServiceError(
      'domain_unverified',
      `sending domain "${domainOf(resolved.sender_email!)}" is not a verified sending domain of this account`,
      'senderEmail',
    );
  }
  return resolved;
}

async function move(
  ctx: Context,
  accountId: string,
  id: number,
  action: MailingAction,
  changes: (m: MailingRow) => Promise<MailingChanges>,
): Promise<MailingRow> {
  const m = await findMailingOr404(ctx, accountId, id);
  if (!allowedIn(action, m.status)) throw conflict(action, m.status);
  const set = await changes(m);
  const from = ['draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled'].filter((s) => allowedIn(action, s));
  const moved = await ctx.db
    .transaction()
    .execute(async (trx) => {
      if (!(await store.updateMailingIn(trx, accountId, id, from, { ...set, updated_at: ctx.clock() }))) return false;
      const now = ctx.clock();
      if (action === 'pause') await store.setOpenMessages(trx, id, ['queued', 'deferred'], HELD_STATUS, now);
      if (action === 'resume') await store.setOpenMessages(trx, id, [HELD_STATUS], 'queued', now);
      if (action === 'cancel')
        await store.setOpenMessages(trx, id, ['queued', 'deferred', HELD_STATUS], 'cancelled', now);
      return true;
    })
    .catch((error: unknown) => {
      // Two trigger mailings with one key activated at once both pass the check above; the unique
      // index on live keys lets one win, and the other gets the same 409 as a sequential request.
      if (m.type === 'trigger' && isUniqueViolation(error)) throw triggerKeyTaken(m);
      throw error;
    });
  if (!moved) throw conflict(action, (await findMailingOr404(ctx, accountId, id)).status);
  return findMailingOr404(ctx, accountId, id);
}

export interface SendOptions {
  /** Sent (or scheduled) with a sandbox key: every message of the mailing is captured (sandbox.ts). */
  sandbox: boolean;
}

/**
 * A mailing whose audience does not fit in what the sending limits leave today (or this month)
 * does not start: 429 naming the limit. The fan-out checks again as it goes (other sends use the
 * quota meanwhile) and pauses the mailing when a batch would pass the limit.
 */
async function checkAudienceQuota(ctx: Context, m: MailingRow, sandbox: boolean): Promise<void> {
  const { dailyLimit, monthlyLimit, sandboxDailyLimit } = ctx.config.quotas;
  if (!dailyLimit && !monthlyLimit && !(sandbox && sandboxDailyLimit)) return;
  const audience = await countAudience(ctx.db, await audienceOf(ctx, m), audienceShape(ctx));
  try {
    await checkQuota(ctx, ctx.db, m.account_id, { messages: audience, sandbox: sandbox ? audience : 0 }, ctx.clock());
  } catch (error) {
    if (error instanceof ServiceError && error.reason === 'limit_exceeded')
      throw new ServiceError(
        'limit_exceeded',
        `The mailing has ${audience} recipients, more than the sending limits leave (${error.detail}); it was not ` +
          `started.`,
      );
    throw error;
  }
}

/**
 * Starts now: the fan-out loop picks it up (409 once it is sending or sent). A trigger mailing is
 * activated instead: it has no audience to fan out (fanout_done from the start) and sends one
 * message per POST /triggerTypes/{key}/send while it is "sending".
 */
export function sendMailing(
  ctx: Context,
  accountId: string,
  id: number,
  opts: SendOptions = { sandbox: false },
): Promise<MailingRow> {
  return move(ctx, accountId, id, 'send', async (m) => {
    const resolved = await resolveForSend(ctx, m);
    await checkTriggerActivation(ctx, m);
    if (m.type !== 'trigger') await checkAudienceQuota(ctx, m, opts.sandbox);
    return {
      ...resolved,
      sandbox: opts.sandbox ? 1 : 0,
      status: 'sending',
      started_at: ctx.clock(),
      scheduled_at: null,
      fanout_cursor: 0,
      fanout_done: m.type === 'trigger' ? 1 : 0,
      recipient_count: 0,
    };
  });
}

/** Sends at `scheduledAt` (a time already past starts at once). */
export function scheduleMailing(
  ctx: Context,
  accountId: string,
  id: number,
  scheduledAt: number,
  opts: SendOptions = { sandbox: false },
): Promise<MailingRow> {
  return move(ctx, accountId, id, 'schedule', async (m) => {
    // A trigger mailing has no send time: it goes out when triggered.
    if (m.type === 'trigger')
      throw new ServiceError(
        'invalid',
        'A trigger mailing is not scheduled; activate it with POST /api/v1/mailings/{id}/send.',
        'scheduledAt',
      );
    return {
      ...(await resolveForSend(ctx, m)),
      sandbox: opts.sandbox ? 1 : 0,
      status: 'scheduled',
      scheduled_at: scheduledAt,
    };
  });
}

/** Stops handing out messages; the queued ones wait (held) until resume. Messages on the wire finish. */
export function pauseMailing(ctx: Context, accountId: string, id: number): Promise<MailingRow> {
  return move(ctx, accountId, id, 'pause', async () => ({ status: 'paused' }));
}

export function resumeMailing(ctx: Context, accountId: string, id: number): Promise<MailingRow> {
  return move(ctx, accountId, id, 'resume', async (m) => {
    await checkTriggerActivation(ctx, m);
    return { status: 'sending' };
  });
}

/** Ends it for good: no more messages, the unsent ones cancelled. */
export function cancelMailing(ctx: Context, accountId: string, id: number): Promise<MailingRow> {
  return move(ctx, accountId, id, 'cancel', async () => ({
    status: 'cancelled',
    lease_owner: null,
    lease_expires_at: null,
  }));
}
