// Statistics from the counters that events keep up to date: account totals and daily series,
// one mailing's or transmission's figures, and the analytics breakdowns. Nothing here reads the
// events table; a report costs a few indexed range reads however much mail was sent.
import type { Context } from '../context.ts';
import { invalid, notFound } from './errors.ts';
import { groupedCounters, listLinkClicks, findMailingForStatistics, sumCounters } from '../store/counters.ts';
import { utcDay } from '../events/counter-deltas.ts';
import { findAccount, subAccountIds } from '../store/accounts.ts';

const DAY_MS = 86_400_000;
/** The longest period one report covers (a daily series of about a year). */
export const MAX_PERIOD_DAYS = 366;
const DEFAULT_PERIOD_DAYS = 30;

export interface Totals {
  recipients: number;
  sent: number;
  delivered: number;
  deferred: number;
  bounced: number;
  bouncedHard: number;
  bouncedSoft: number;
  rejected: number;
  opens: number;
  uniqueOpens: number;
  machineOpens: number;
  clicks: number;
  uniqueClicks: number;
  unsubscribes: number;
  complaints: number;
}

export function totalsOf(m: Record<string, number>): Totals {
  const n = (k: string) => m[k] ?? 0;
  return {
    recipients: n('injected'),
    sent: n('sent'),
    delivered: n('delivered'),
    deferred: n('deferred'),
    bounced: n('bounced'),
    bouncedHard: n('bounced_hard'),
    bouncedSoft: n('bounced_soft'),
    rejected: n('rejected'),
    opens: n('opens'),
    uniqueOpens: n('unique_opens'),
    machineOpens: n('machine_opens'),
    clicks: n('clicks'),
    uniqueClicks: n('unique_clicks'),
    unsubscribes: n('unsubscribes'),
    complaints: n('complaints'),
  };
}

/** A share in percent with two decimals (0 when there is nothing to divide by). */
export const percent = (part: number, whole: number): number =>
  whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0;

/**
 * Rates in percent: opens and clicks per delivered message (unique: one per recipient), bounces
 * and unsubscribes per recipient the mail was meant for.
 */
export function ratesOf(t: Totals) {
  const attempted = Math.max(t.recipients, t.sent, t.delivered + t.bounced);
  return {
    deliveryRate: percent(t.delivered, t.sent),
    openRate: percent(t.uniqueOpens, t.delivered),
    clickRate: percent(t.uniqueClicks, t.delivered),
    bounceRate: percent(t.bounced, attempted),
    unsubscribeRate: percent(t.unsubscribes, attempted),
  };
}

export interface Period {
  fromDay: string;
  toDay: string;
}

/**
 * The days a report covers. `from` and `to` are dates or date-times (ISO-8601 or the marketing
 * format); counters are kept per UTC day, so a time of day is rounded to its day. Without them:
 * the last 30 days up to today.
 */
export function resolvePeriod(now: number, from?: string, to?: string): Period {
  const toMs = to === undefined || to === '' ? now : parseDate(to, 'to');
  const fromMs =
    from === undefined || from === '' ? toMs - (DEFAULT_PERIOD_DAYS - 1) * DAY_MS : parseDate(from, 'from');
  const fromDay = utcDay(fromMs);
  const toDay = utcDay(toMs);
  if (fromDay > toDay) throw invalid('from', 'must not be after to');
  if ((Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS + 1 > MAX_PERIOD_DAYS)
    throw invalid('to', `must be at most ${MAX_PERIOD_DAYS} days after from`);
  return { fromDay, toDay };
}

function parseDate(value: string, field: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    value.trim(),
  );
  const ms = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${m[3] ?? 'Z'}`) : NaN;
  if (!m || Number.isNaN(ms) || new Date(Date.parse(`${m[1]}T00:00:00Z`)).toISOString().slice(0, 10) !== m[1]) {
    throw invalid(
      field,
      'must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS)',
    );
  }
  return ms;
}

/** Every day of the period, so a series has no gaps on quiet days. */
export function daysOf(p: Period): string[] {
  const out: string[] = [];
  for (let t = Date.parse(p.fromDay); t <= Date.parse(p.toDay); t += DAY_MS) out.push(utcDay(t));
  return out;
}

export async function accountStatistics(ctx: Context, accountId: string, period: Period) {
  const range = { accountIds: [accountId], scope: 'account', scopeId: '', ...period };
  const [sum, daily] = await Promise.all([sumCounters(ctx.db, range), groupedCounters(ctx.db, range, 'day')]);
  const totals = totalsOf(sum);
  return {
    period,
    totals,
    rates: ratesOf(totals),
    days: daysOf(period).map((day) => ({ day, ...totalsOf(daily.get(day) ?? {}) })),
  };
}

/** One mailing's figures, its links and its daily timeline; a mailing of another account is not found. */
export async function mailingStatistics(ctx: Context, accountId: string, mailingId: number) {
  const mailing = await findMailingForStatistics(ctx.db, accountId, mailingId);
  if (!mailing) throw notFound(`mailing ${mailingId}`);
  const range = { accountIds: [accountId], scope: 'mailing', scopeId: String(mailingId) };
  const [sum, daily, links] = await Promise.all([
    sumCounters(ctx.db, range),
    groupedCounters(ctx.db, range, 'day'),
    listLinkClicks(ctx.db, accountId, 'mailing', String(mailingId)),
  ]);
  const totals = totalsOf(sum);
  // Mailing messages are created by the fan-out without an injection event: the mailing knows its count.
  totals.recipients = Math.max(totals.recipients, mailing.recipientCount);
  return { totals, rates: ratesOf(totals), links, timeline: [...daily].map(([day, m]) => ({ day, ...totalsOf(m) })) };
}

/** A transmission's totals (all days). */
export async function transmissionTotals(ctx: Context, accountId: string, transmissionId: string): Promise<Totals> {
  return totalsOf(
    await sumCounters(ctx.db, { accountIds: [accountId], scope: 'transmission', scopeId: transmissionId }),
  );
}

export type BreakdownGroup = 'DAY' | 'SENDING_DOMAIN' | 'RECIPIENT_DOMAIN' | 'SUBACCOUNT_ID' | 'IP_POOL' | 'LABEL';

/** Posthorn sends from one pool: the IP_POOL breakdown is one row of this name. */
export const DEFAULT_IP_POOL = 'default';

/** Totals per group over the period: per day, sending or recipient domain, label, or sub-account. */
export async function breakdown(
  ctx: Context,
  accountId: string,
  period: Period,
  groupBy: BreakdownGroup,
): Promise<Array<{ key: string; totals: Totals }>> {
  const rows = (m: Map<string, Record<string, number>>) =>
    [...m].map(([key, metrics]) => ({ key, totals: totalsOf(metrics) }));
  switch (groupBy) {
    case 'DAY': {
      const daily = await groupedCounters(
        ctx.db,
        { accountIds: [accountId], scope: 'account', scopeId: '', ...period },
        'day',
      );
      return daysOf(period).map((day) => ({ key: day, totals: totalsOf(daily.get(day) ?? {}) }));
    }
    case 'SUBACCOUNT_ID': {
      // One row per sub-account that had traffic, keyed by the sub-account's integer id (as text,
      // like every breakdown key), in id order.
      const subs = await subAccountIds(ctx.db, accountId);
      const byAccount = await groupedCounters(
        ctx.db,
        { accountIds: [...subs.keys()], scope: 'account', scopeId: '', ...period },
        'account_id',
      );
      return [...subs]
        .filter(([id]) => byAccount.has(id))
        .map(([id, intId]) => ({ key: String(intId), totals: totalsOf(byAccount.get(id)!) }));
    }
    case 'SENDING_DOMAIN':
      return rows(
        await groupedCounters(ctx.db, { accountIds: [accountId], scope: 'sending_domain', ...period }, 'scope_id'),
      );
    case 'RECIPIENT_DOMAIN':
      return rows(
        await groupedCounters(ctx.db, { accountIds: [accountId], scope: 'recipient_domain', ...period }, 'scope_id'),
      );
    case 'LABEL':
      return rows(await groupedCounters(ctx.db, { accountIds: [accountId], scope: 'label', ...period }, 'scope_id'));
    case 'IP_POOL': {
      const sum = await sumCounters(ctx.db, { accountIds: [accountId], scope: 'account', scopeId: '', ...period });
      return [{ key: DEFAULT_IP_POOL, totals: totalsOf(sum) }];
    }
  }
}

/** The account's name with its totals and rates over the period (the analytics summary). */
export async function accountSummary(ctx: Context, accountId: string, period: Period) {
  const [account, sum] = await Promise.all([
    findAccount(ctx.db, accountId),
    sumCounters(ctx.db, { accountIds: [accountId], scope: 'account', scopeId: '', ...period }),
  ]);
  const totals = totalsOf(sum);
  return { name: account?.name ?? '', period, totals, rates: ratesOf(totals) };
}
