// GET /v1/metrics/now (Posthorn's own): the account's outbox right now and its accepted/delivered
// rates over the last minute, for dashboards. The same reads as /metrics' queue gauges, scoped to
// the account the request acts on (X-MT-ATTR: that sub-account).
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { QueueFigures } from '../../services/queue-figures.ts';
import { errorResponses } from './schemas.ts';

const Rate = (what: string) =>
  Type.Number({ description: `${what} over the last 60 seconds, per second (two decimals)` });

const NowFigures = Type.Object({
  queue: Type.Object(
    {
      queued: Type.Integer({ description: 'Waiting for their first attempt (or their sendAt)' }),
      sending: Type.Integer({ description: 'Claimed by a worker, being sent now' }),
      deferred: Type.Integer({ description: 'Waiting for a retry after a temporary failure' }),
    },
    { description: "The account's messages still to be sent" },
  ),
  acceptedPerSecond: Rate('Messages accepted (one per recipient)'),
  deliveredPerSecond: Rate('Messages delivered (or kept by the capture inbox)'),
  at: Type.String({ description: 'When the figures were read (ISO-8601; they are at most a second old)' }),
});

export function registerMetricsNowRoute(app: FastifyInstance, figures: QueueFigures): void {
  app.get(
    '/v1/metrics/now',
    {
      config: { permission: 'analytics' },
      schema: {
        tags: ['Analytics'],
        summary: "Posthorn's own: the account's queue by status and its accept/delivery rates of the last minute",
        response: { 200: NowFigures, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => figures.now(request.apiKey.accountId),
  );
}
