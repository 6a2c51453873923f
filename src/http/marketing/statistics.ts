// Marketing statistics: GET /api/v1/statistics (account totals and a daily series) and
// GET /api/v1/mailings/{id}/statistics. Both read the counters events keep, never the events.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { accountStatistics, mailingStatistics, resolvePeriod, type Totals } from '../../services/statistics.ts';
import { parseId } from '../../services/marketing-params.ts';
import { IdParam, marketingErrors } from './common-schemas.ts';

const PeriodQuery = Type.Object({
  from: Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'First day, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC; counted per day); default 29 days before `to`',
    }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'Last day, inclusive; default today (UTC)' })),
});

/** The figures of a mailing, a day or a period, in the marketing surface's names. */
function figures(t: Totals) {
  return {
    recipients: t.recipients,
    sent: t.sent,
    delivered: t.delivered,
    deferred: t.deferred,
    bounced: { total: t.bounced, hard: t.bouncedHard, soft: t.bouncedSoft },
    opens: { total: t.opens, unique: t.uniqueOpens, machine: t.machineOpens },
    clicks: { total: t.clicks, unique: t.uniqueClicks },
    unsubscribes: t.unsubscribes,
    complaints: t.complaints,
  };
}

export function registerStatisticsRoutes(app: FastifyInstance, ctx: Context): void {
  app.get(
    '/api/v1/statistics',
    {
      config: { permission: 'analytics' },
      schema: {
        tags: ['Statistics'],
        summary: 'Account totals and a daily series over a period (UTC days)',
        querystring: PeriodQuery,
        response: marketingErrors(401, 403, 422),
      },
    },
    async (request) => {
      const q = request.query as Static<typeof PeriodQuery>;
      const s = await accountStatistics(ctx, request.apiKey.accountId, resolvePeriod(ctx.clock(), q.from, q.to));
      return {
        data: {
          objectType: 'Statistics',
          from: s.period.fromDay,
          to: s.period.toDay,
          ...figures(s.totals),
          ...s.rates,
          days: s.days.map(({ day, ...t }) => ({ date: day, ...figures(t) })),
        },
      };
    },
  );

  app.get(
    '/api/v1/mailings/:id/statistics',
    {
      config: { permission: 'mailings' },
      schema: {
        tags: ['Mailings'],
        summary: "A mailing's delivery, open, click and unsubscribe figures, its links and a daily timeline",
        params: IdParam,
        response: marketingErrors(401, 403, 404),
      },
    },
    async (request) => {
      const id = parseId((request.params as Static<typeof IdParam>).id, 'mailing');
      const s = await mailingStatistics(ctx, request.apiKey.accountId, id);
      return {
        data: {
          objectType: 'MailingStatistics',
          mailingId: id,
          ...figures(s.totals),
          openRate: s.rates.openRate,
          clickRate: s.rates.clickRate,
          bounceRate: s.rates.bounceRate,
          unsubscribeRate: s.rates.unsubscribeRate,
          deliveryRate: s.rates.deliveryRate,
          links: s.links.map((l) => ({ url: l.url, clicks: l.clicks, uniqueClicks: l.uniqueClicks })),
          timeline: s.timeline.map(({ day, ...t }) => ({ date: day, ...figures(t) })),
        },
      };
    },
  );
}
