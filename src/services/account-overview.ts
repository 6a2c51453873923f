// What GET /v1/account and GET /v1/account/usage-quota report: the account the request acts on,
// its company (the top-level account), and its sending against the configured limits.
import type { Context } from '../context.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { notFound } from './errors.ts';
import { percent } from './statistics.ts';
import { findAccount, type AccountRow } from '../store/accounts.ts';
import { defaultSendingDomain } from '../store/account-domains.ts';
import { usageBetween } from '../store/usage.ts';
import { utcDay } from '../events/counter-deltas.ts';

/**
 * "No limit", in the contract's integer fields: the largest number its JSON allows (signed 32 bits),
 * so a client that compares what remains with what it wants to send keeps sending.
 */
export const UNLIMITED = 2_147_483_647;

export interface AccountOverview {
  account: AccountRow;
  /** The top-level account: the parent of a sub-account, else the account itself. */
  company: AccountRow;
  defaultSendingDomain: string | null;
}

export async function accountOverview(ctx: Context, key: ApiKeyInfo): Promise<AccountOverview> {
  const account = await findAccount(ctx.db, key.accountId);
  if (!account) throw notFound('account');
  const [company, domain] = await Promise.all([
    account.parent_id ? findAccount(ctx.db, account.parent_id) : account,
    defaultSendingDomain(ctx.db, account.id),
  ]);
  return { account, company: company ?? account, defaultSendingDomain: domain };
}

export interface UsageQuota {
  dailyLimit: number;
  emailsQuota: number;
  emailsRemaining: number;
  emailsSent: number;
  emailsSentToday: number;
  maxAttachmentSizeMb: number;
  maxRecipientsPerTransmission: number;
  percentUsed: number;
  period: 'monthly';
  periodStart: string;
  plan: string;
  rateLimit: { requestsPerMinute: number; requestsPerSecond: number };
}

const orUnlimited = (limit: number) => (limit > 0 ? Math.min(limit, UNLIMITED) : UNLIMITED);

/**
 * Messages accepted this UTC month (and today) against the monthly and daily limits, from the
 * usage counters the accept transaction keeps; the other limits from the configuration.
 */
export async function usageQuota(ctx: Context, key: ApiKeyInfo): Promise<UsageQuota> {
  const today = utcDay(ctx.clock());
  const monthStart = today.slice(0, 8) + '01';
  const [sentThisMonth, sentToday] = await Promise.all([
    usageBetween(ctx.db, key.accountId, monthStart, today),
    usageBetween(ctx.db, key.accountId, today, today),
  ]);
  const { dailyLimit, monthlyLimit } = ctx.config.quotas;
  return {
    dailyLimit: orUnlimited(dailyLimit),
    emailsQuota: orUnlimited(monthlyLimit),
    emailsRemaining: monthlyLimit > 0 ? Math.max(0, monthlyLimit - sentThisMonth) : UNLIMITED,
    emailsSent: sentThisMonth,
    emailsSentToday: sentToday,
    // Attachments travel base64-encoded inside the JSON body: three bytes of file per four of body.
    maxAttachmentSizeMb: Math.floor((ctx.config.maxBodyBytes * 3) / 4 / (1024 * 1024)),
    maxRecipientsPerTransmission: ctx.config.maxRecipients,
    percentUsed: monthlyLimit > 0 ? percent(sentThisMonth, monthlyLimit) : 0,
    period: 'monthly',
    periodStart: monthStart,
    plan: 'self-hosted',
    rateLimit: {
      requestsPerMinute: orUnlimited(ctx.config.v1RateLimit.perMinute),
      requestsPerSecond: orUnlimited(ctx.config.v1RateLimit.perSecond),
    },
  };
}
