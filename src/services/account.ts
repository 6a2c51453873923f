// The account as the marketing API shows it (GET /whoami) and the account's languages.
import type { Context } from '../context.ts';
import { notFound } from './errors.ts';
import { findAccountProfile } from '../store/account-profile.ts';
import { listChannels, type ChannelRow } from '../store/channels.ts';

/**
 * Every account has the same two languages for now (subscribers, channels, custom field
 * translations and the public pages all use them); a per-account list can replace this constant
 * without changing the API.
 */
export const LANGUAGES = [
  { iso: 'de', name: 'Deutsch' },
  { iso: 'en', name: 'English' },
] as const;

export type LanguageIso = (typeof LANGUAGES)[number]['iso'];
export const LANGUAGE_ISOS: readonly string[] = LANGUAGES.map((l) => l.iso);

export function isAccountLanguage(iso: string): iso is LanguageIso {
  return LANGUAGE_ISOS.includes(iso);
}

/** whoami's include=channels lists at most this many (accounts have a handful; this bounds the answer). */
export const WHOAMI_MAX_CHANNELS = 1000;

export interface AccountView {
  /** The account's integer id (the same number the transactional surface shows). */
  id: number;
  /** L: manages sub-accounts; S: holds subscribers and sends. */
  type: 'L' | 'S';
  name: string;
  createdAt: number;
}

export async function whoami(ctx: Context, accountId: string): Promise<AccountView> {
  const profile = await findAccountProfile(ctx.db, accountId);
  if (!profile) throw notFound('Account');
  const { account, hasSubAccounts } = profile;
  return {
    id: account.int_id,
    type: hasSubAccounts ? 'L' : 'S',
    name: account.name,
    createdAt: Number(account.created_at),
  };
}

export async function accountChannels(ctx: Context, accountId: string): Promise<ChannelRow[]> {
  return listChannels(ctx.db, accountId, 0, WHOAMI_MAX_CHANNELS);
}
