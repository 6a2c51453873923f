// GET /v1/inbound and /v1/inbound/:id (Posthorn extension): the reports the inbound receiver of
// the return path kept (bounces, complaints, auto-replies, mailto unsubscribes, and whatever else
// arrived), newest first, with what was made of each. String ids and Unix-millisecond times, like
// the suppression list.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { getInbound, listInbound, REPORT_KINDS, REPORT_OUTCOMES } from '../../services/inbound-reports.ts';
import { IdParam, Paging, errorResponses } from './schemas.ts';

const ListQuery = Type.Intersect([
  Paging,
  Type.Object({
    kind: Type.Optional(
      Type.String({ maxLength: 32, description: `Only reports of this kind: ${REPORT_KINDS.join(', ')}` }),
    ),
    outcome: Type.Optional(
      Type.String({ maxLength: 32, description: `Only reports with this outcome: ${REPORT_OUTCOMES.join(', ')}` }),
    ),
  }),
]);

const ReportFields = {
  id: Type.String(),
  kind: Type.String({ description: REPORT_KINDS.join(', ') }),
  format: Type.String({
    description: 'the shape it was read from: dsn, text, arf, feedback-loop, auto-reply, mailto, unknown',
  }),
  outcome: Type.String({
    description:
      'matched (events recorded), ignored (the message is known, the report changes nothing), unmatched (no message ' +
      'found)',
  }),
  matched: Type.Boolean({
    description:
      'false for reports matched to no account; only the installation’s own account (made at first start) sees those',
  }),
  messageId: Type.Union([Type.String(), Type.Null()], { description: 'the outbox message it was matched to' }),
  mailFrom: Type.String(),
  rcptTo: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown({ description: 'the parsed report and, per recipient, the message and the event recorded' }),
  rawBytes: Type.Integer(),
  createdAt: Type.Integer({ description: 'Unix milliseconds' }),
};
const Item = Type.Object(ReportFields);
const Detail = Type.Object({
  ...ReportFields,
  raw: Type.String({ description: 'the message as received (the first 256 KiB)' }),
});
const List = Type.Object({ count: Type.Integer(), data: Type.Array(Item) });

export function registerInboundRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'suppressions' as const };
  const tags = ['Inbound'];

  app.get(
    '/v1/inbound',
    {
      config,
      schema: {
        tags,
        summary: 'Reports received at the return path, newest first (Posthorn extension)',
        description:
          'Bounces (DSNs and plain-text), spam complaints (ARF), auto-replies, mailto unsubscribes and anything else ' +
          'that arrived at the inbound receiver, with what each led to. Reports matched to no account are listed ' +
          'for the installation’s own account only. Paged with page and size; filtered by kind and outcome.',
        querystring: ListQuery,
        response: { 200: List, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      const size = q.size ?? 10;
      const { total, rows } = await listInbound(
        ctx,
        request.apiKey.accountId,
        { kind: q.kind, outcome: q.outcome },
        q.page ?? 1,
        size,
      );
      return { count: total, data: rows };
    },
  );

  app.get(
    '/v1/inbound/:id',
    {
      config,
      schema: {
        tags,
        summary: 'One received report with the message as it arrived (Posthorn extension)',
        params: IdParam,
        response: { 200: Detail, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return getInbound(ctx, request.apiKey.accountId, id);
    },
  );
}
