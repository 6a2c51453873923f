// The public signup form /p/subscribe/{accountId}/{channelId}: always double opt-in. Whatever the
// address, the visitor sees the same "check your inbox" answer, so the form tells nobody whether
// an address is on the list, blacklisted or archived.
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { isValidEmail, normalizeEmail } from '../domain/email-address.ts';
import { pageLanguage, type PageLanguage } from '../domain/public-page-strings.ts';
import { STATUS } from '../domain/subscriber-status.ts';
import { findAccount } from '../store/accounts.ts';
import { findChannel, subscribedChannelIds } from '../store/opt-in.ts';
import { findSubscriberByEmail } from '../store/subscribers.ts';
import { registerSubscriber, SubscriberValidationError } from './subscribers.ts';
import { sendOptInMail } from './opt-in.ts';

export interface SignupFrame {
  language: PageLanguage;
  channel: { id: number; name: string; color: string | null };
}

export interface SignupInput {
  email: string;
  firstname: string;
  lastname: string;
}

const NAME_MAX = 100;

/** The channel the form signs up for; an unknown or inactive account or channel is not found. */
export async function signupFrame(ctx: Context, accountId: string, channelId: number): Promise<SignupFrame> {
  const account = await findAccount(ctx.db, accountId);
  if (!account || account.status !== 'Active') throw notFound('signup form');
  const channel = await findChannel(ctx.db, accountId, channelId);
  if (!channel) throw notFound('signup form');
  return {
    language: pageLanguage(channel.language_iso),
    channel: { id: Number(channel.id), name: channel.name, color: channel.color },
  };
}

const cleanName = (v: string) =>
  v
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, NAME_MAX);

/**
 * Signs the address up for the channel by double opt-in. A new, pending or unsubscribed address is
 * registered as pending and gets the channel's opt-in mail; one already on the list (ready) gets the
 * opt-in mail for this channel unless it already has it, and joins the channel when it confirms.
 * Addresses archived for a complaint, a bounce or by hand, and blacklisted ones, get nothing.
 * Throws only for an email that is not one (invalid).
 */
export async function signUp(ctx: Context, accountId: string, channelId: number, input: SignupInput): Promise<void> {
  const frame = await signupFrame(ctx, accountId, channelId);
  const email = normalizeEmail(input.email.trim());
  if (!email || email.length > 254 || !isValidEmail(email)) throw new ServiceError('invalid_email', 'email', 'email');
  const existing = await findSubscriberByEmail(ctx.db, accountId, email);
  if (existing && existing.status === STATUS.READY) {
    const channels = await subscribedChannelIds(ctx.db, accountId, Number(existing.id));
    if (!channels.includes(channelId)) await sendOptInMail(ctx, accountId, Number(existing.id), channelId);
    return;
  }
  const firstname = cleanName(input.firstname);
  const lastname = cleanName(input.lastname);
  try {
    await registerSubscriber(
      ctx,
      // The visitor acts for themself: coming back after an unsubscribe is theirs to decide (by
      // confirming again); other archived addresses stay archived.
      { accountId, permissions: ['subscribers_reactivate_unsubscribed'] },
      {
        email,
        ...(firstname ? { firstname } : {}),
        ...(lastname ? { lastname } : {}),
        channelId,
        languageIso: frame.language,
        reference: 'signup page',
      },
    );
  } catch (error) {
    if (error instanceof SubscriberValidationError || (error instanceof ServiceError && error.reason === 'forbidden')) {
      ctx.log.info({ accountId, channelId }, 'signup page: address not signed up (blacklisted or archived)');
      return;
    }
    throw error;
  }
}
