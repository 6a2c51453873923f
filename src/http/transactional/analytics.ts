// Account analytics of the transactional surface: the summary over a period and its breakdowns.
// Both read the counters events keep (see src/services/statistics.ts), never the events table.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../services/context.ts';
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

const GROUPS: BreakdownGroup[] = ['DAY', 'SENDING_DOMAIN', 'RECIPIENT_DOMAIN', 'SUBACCOUNT_ID', 'LABEL'];
const BreakdownQuery = Type.Intersect([
  PeriodQuery,
  Type.Object({ groupBy: Type.Union(GROUPS.map((g) => Type.Literal(g))) }),
]);

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
        querystring: PeriodQuery,
        response: errorResponses(401, 403, 422),
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
        summary: 'The summary per day, sending domain, recipient domain, sub-account or label',
        querystring: BreakdownQuery,
        response: errorResponses(401, 403, 422),
      },
    },
    async (request) => {
      const q = request.query as Static<typeof BreakdownQuery>;
      const period = resolvePeriod(ctx.clock(), q.from, q.to);
      const rows = await breakdown(ctx, request.apiKey.accountId, period, q.groupBy);
      return {
        groupBy: q.groupBy,
        period: periodView(period),
        data: rows.map((r) => ({ key: r.key, ...figures(r.totals) })),
      };
    },
  );
}
