// Account analytics of the transactional surface: the summary over a period and its breakdowns.
// Both read the counters events keep (see src/services/statistics.ts), never the events table.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  accountSummary,
  breakdown,
  ratesOf,
  resolvePeriod,
  type BreakdownGroup,
  type Period,
  type Totals,
} from '../../services/statistics.ts';
import { errorResponses } from './schemas.ts';

const PeriodQuery = Type.Object({
  from: Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'First day (YYYY-MM-DD, or an ISO-8601 date-time: its UTC day); default 29 days before `to`',
    }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'Last day, inclusive; default today (UTC)' })),
});

const GROUPS: BreakdownGroup[] = ['DAY', 'SENDING_DOMAIN', 'RECIPIENT_DOMAIN', 'SUBACCOUNT_ID', 'IP_POOL', 'LABEL'];
const BreakdownQuery = Type.Intersect([
  PeriodQuery,
  Type.Object({
    groupBy: Type.Optional(
      Type.Union(
        GROUPS.map((g) => Type.Literal(g)),
        {
          description:
            'Default DAY. IP_POOL: Posthorn sends from one pool, so one row named "default". ' +
            'SUBACCOUNT_ID: a row per sub-account (its id).',
        },
      ),
    ),
  }),
]);

const Rate = (what: string) => Type.Number({ description: `${what}, percent with two decimals` });
/** model.AnalyticsSummary, plus Posthorn's own totals. */
const Summary = Type.Object(
  {
    name: Type.String({
      description: "The account's name; in a breakdown, the group's value (a day, a domain, a label…)",
    }),
    period: Type.Object({
      from: Type.String({ description: 'First day, YYYY-MM-DD (UTC)' }),
      to: Type.String({ description: 'Last day, inclusive' }),
    }),
    sent: Type.Integer(),
    delivered: Type.Integer(),
    opened: Type.Integer({ description: 'Recipients who opened (unique)' }),
    clicked: Type.Integer({ description: 'Recipients who clicked (unique)' }),
    bounced: Type.Integer(),
    unsubscribed: Type.Integer(),
    deliveryRate: Rate('Delivered per sent'),
    openRate: Rate('Unique opens per delivered'),
    clickRate: Rate('Unique clicks per delivered'),
    bounceRate: Rate('Bounces per recipient'),
    unsubscribeRate: Rate('Unsubscribes per recipient'),
    injected: Type.Integer({ description: 'Posthorn: recipients accepted' }),
    totalOpens: Type.Integer({ description: 'Posthorn' }),
    machineOpens: Type.Integer({ description: 'Posthorn: opens by mail-privacy proxies and scanners' }),
    totalClicks: Type.Integer({ description: 'Posthorn' }),
    deferred: Type.Integer({ description: 'Posthorn' }),
    complaints: Type.Integer({ description: 'Posthorn' }),
  },
  { description: "The contract's AnalyticsSummary; Posthorn adds the totals behind the unique counts" },
);

/** The figures of one summary or breakdown row, in the transactional surface's names. */
function figures(t: Totals) {
  return {
    sent: t.sent,
    delivered: t.delivered,
    opened: t.uniqueOpens,
    clicked: t.uniqueClicks,
    bounced: t.bounced + t.rejected,
    unsubscribed: t.unsubscribes,
    ...ratesOf({ ...t, bounced: t.bounced + t.rejected }),
    // Posthorn extensions: the totals behind the unique counts, and what else happened.
    injected: t.recipients,
    totalOpens: t.opens,
    machineOpens: t.machineOpens,
    totalClicks: t.clicks,
    deferred: t.deferred,
    complaints: t.complaints,
  };
}

const periodView = (p: Period) => ({ from: p.fromDay, to: p.toDay });

export function registerAnalyticsRoutes(app: FastifyInstance, ctx: Context): void {
  const read = { permission: 'analytics' as const };

  app.get(
    '/v1/analytic/summary',
    {
      config: read,
      schema: {
        tags: ['Analytics'],
        summary: 'Sending figures and rates of the account over a period (UTC days)',
        description:
          'The contract marks from and to required; Posthorn defaults them (the last 30 ' +
          'days). sandbox and sandboxSubAccountId are ignored: ' +
          'sandbox mail is counted with the rest.',
        querystring: PeriodQuery,
        response: { 200: Summary, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof PeriodQuery>;
      const s = await accountSummary(ctx, request.apiKey.accountId, resolvePeriod(ctx.clock(), q.from, q.to));
      return { name: s.name, period: periodView(s.period), ...figures(s.totals) };
    },
  );

  app.get(
    '/v1/analytic/summary/breakdown',
    {
      config: read,
      schema: {
        tags: ['Analytics'],
        summary: 'The summary per day, sending domain, recipient domain, sub-account, IP pool or label',
        description: "An ARRAY of AnalyticsSummary, as the contract gives it; each row's name is the group's value.",
        querystring: BreakdownQuery,
        response: { 200: Type.Array(Summary), ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof BreakdownQuery>;
      const period = resolvePeriod(ctx.clock(), q.from, q.to);
      const rows = await breakdown(ctx, request.apiKey.accountId, period, q.groupBy ?? 'DAY');
      return rows.map((r) => ({ name: r.key, period: periodView(period), ...figures(r.totals) }));
    },
  );
}
