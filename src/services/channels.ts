// Channels: CRUD, with the sender addresses checked and the language one of the account's.
import type { Context } from '../context.ts';
import { invalid, notFound, required } from './errors.ts';
import { isValidEmail, hasLineBreak, normalizeEmail } from '../domain/email-address.ts';
import { LANGUAGE_ISOS, isAccountLanguage } from './account.ts';
import type { Paging } from '../domain/query-grammar.ts';
import type { Page } from './marketing-params.ts';
import * as store from '../store/channels.ts';
import type { ChannelRow } from '../store/channels.ts';
import { findMailing } from '../store/mailings.ts';
import { ServiceError } from './errors.ts';

export interface ChannelInput {
  name?: string;
  senderName?: string | null;
  senderEmail?: string | null;
  replyTo?: string | null;
  languageIso?: string;
  color?: string | null;
  /** An optIn mailing for the confirmation mail; null: the built-in one. */
  optInMailingId?: number | null;
  /** An optOut mailing sent after an unsubscribe from the channel; null: no goodbye mail. */
  optOutMailingId?: number | null;
}

const MAILING_FIELDS = [
  ['optInMailingId', 'opt_in_mailing_id', 'optIn'],
  ['optOutMailingId', 'opt_out_mailing_id', 'optOut'],
] as const;

/**
 * The opt-in and opt-out mailings a channel names: a mailing of the account, of the matching type.
 * An opt-in mailing must link {{ confirmUrl }}: without it nobody could confirm.
 */
async function checkedMailings(ctx: Context, accountId: string, input: ChannelInput): Promise<store.ChannelChanges> {
  const changes: store.ChannelChanges = {};
  for (const [field, column, type] of MAILING_FIELDS) {
    const id = input[field];
    if (id === undefined) continue;
    if (id === null) {
      changes[column] = null;
      continue;
    }
    const mailing = await findMailing(ctx.db, accountId, id);
    if (!mailing || mailing.type !== type)
      throw new ServiceError(
        'invalid',
        `The selected ${field} is invalid: it must name a mailing of type ${type}.`,
        field,
      );
    if (type === 'optIn' && !/\{\{-?\s*confirmUrl\b/.test(`${mailing.html ?? ''} ${mailing.text ?? ''}`))
      throw new ServiceError(
        'invalid',
        `The ${field} mailing must contain the confirmation link {{ confirmUrl }}.`,
        field,
      );
    changes[column] = id;
  }
  return changes;
}
const COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** null and "" both mean "not set" for the optional fields. */
const orNull = (v: string | null | undefined): string | null =>
  v === undefined || v === null || v.trim() === '' ? null : v.trim();

function checkedChanges(input: ChannelInput): store.ChannelChanges {
  const changes: store.ChannelChanges = {};
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name === '') throw required('name');
    if (hasLineBreak(name)) throw invalid('name', 'must not contain line breaks');
    changes.name = name;
  }
  if (input.senderName !== undefined) {
    const senderName = orNull(input.senderName);
    if (senderName !== null && hasLineBreak(senderName)) throw invalid('senderName', 'must not contain line breaks');
    changes.sender_name = senderName;
  }
  for (const [field, column] of [
    ['senderEmail', 'sender_email'],
    ['replyTo', 'reply_to'],
  ] as const) {
    if (input[field] === undefined) continue;
    const email = orNull(input[field]);
    if (email !== null && !isValidEmail(email)) throw invalid(field, 'must be a valid email address');
    changes[column] = email === null ? null : normalizeEmail(email);
  }
  if (input.languageIso !== undefined) {
    if (!isAccountLanguage(input.languageIso))
      throw invalid('languageIso', `must be one of the account's languages: ${LANGUAGE_ISOS.join(', ')}`);
    changes.language_iso = input.languageIso;
  }
  if (input.color !== undefined) {
    const color = orNull(input.color);
    if (color !== null && !COLOR.test(color)) throw invalid('color', 'must be a hex colour such as #1a73e8');
    changes.color = color === null ? null : color.toLowerCase();
  }
  return changes;
}

export async function createChannel(ctx: Context, accountId: string, input: ChannelInput): Promise<ChannelRow> {
  if (input.name === undefined) throw required('name');
  const changes = { ...checkedChanges(input), ...(await checkedMailings(ctx, accountId, input)) };
  const now = ctx.clock();
  const id = await store.insertChannel(ctx.db, {
    account_id: accountId,
    name: changes.name!,
    sender_name: changes.sender_name ?? null,
    sender_email: changes.sender_email ?? null,
    reply_to: changes.reply_to ?? null,
    language_iso: changes.language_iso ?? 'de',
    color: changes.color ?? null,
    opt_in_mailing_id: changes.opt_in_mailing_id ?? null,
    opt_out_mailing_id: changes.opt_out_mailing_id ?? null,
    created_at: now,
    updated_at: now,
  });
  return getChannel(ctx, accountId, id);
}

export async function getChannel(ctx: Context, accountId: string, id: number): Promise<ChannelRow> {
  const row = await store.findChannel(ctx.db, accountId, id);
  if (!row) throw notFound('Channel');
  return row;
}

export async function listChannels(ctx: Context, accountId: string, paging: Paging): Promise<Page<ChannelRow>> {
  const [total, rows] = await Promise.all([
    store.countChannels(ctx.db, accountId),
    store.listChannels(ctx.db, accountId, paging.offset, paging.limit),
  ]);
  return { total, rows, paging };
}

export async function updateChannel(
  ctx: Context,
  accountId: string,
  id: number,
  input: ChannelInput,
): Promise<ChannelRow> {
  const changes = { ...checkedChanges(input), ...(await checkedMailings(ctx, accountId, input)) };
  const found = await store.updateChannel(ctx.db, accountId, id, { ...changes, updated_at: ctx.clock() });
  if (!found) throw notFound('Channel');
  return getChannel(ctx, accountId, id);
}

/** Also ends every subscription to the channel (the subscribers themselves stay). */
export async function deleteChannel(ctx: Context, accountId: string, id: number): Promise<void> {
  const found = await ctx.db.transaction().execute((trx) => store.deleteChannelWithSubscriptions(trx, accountId, id));
  if (!found) throw notFound('Channel');
}
