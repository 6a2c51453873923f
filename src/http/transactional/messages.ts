// Read-back routes: transmission analytics and the per-recipient messages (Posthorn extension).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  listMessagesPage,
  messageDetail,
  messagePreview,
  messageRaw,
  transmissionEvents,
  transmissionSummary,
  createdBetween,
} from '../../services/messages.ts';
import { IdParam, Paging, errorResponses } from './schemas.ts';

const Stats = Type.Object({
  queued: Type.Integer({ description: 'Posthorn: recipients not yet finished' }),
  delivered: Type.Integer(),
  opened: Type.Integer({ description: 'Recipients who opened (unique)' }),
  clicked: Type.Integer({ description: 'Recipients who clicked (unique)' }),
  bounced: Type.Integer(),
  unsubscribed: Type.Integer(),
});

/** model.DetailTransmissionData, plus Posthorn's fields. */
const TransmissionDetail = Type.Object({
  transmissionId: Type.String(),
  subject: Type.String(),
  status: Type.String({ description: 'sending, scheduled or completed' }),
  createdAt: Type.Integer({ description: 'Unix milliseconds' }),
  scheduledAt: Type.Union([Type.Integer(), Type.Null()], { description: 'Posthorn: sendAt, Unix milliseconds' }),
  recipientCount: Type.Integer(),
  from: Type.Object({ email: Type.String(), name: Type.Optional(Type.String()) }),
  sandbox: Type.Boolean({ description: 'Posthorn' }),
  stats: Stats,
});

/** model.TransmissionEvent, plus Posthorn's fields. */
const TransmissionEvent = Type.Object({
  type: Type.String({ description: 'injection, delivery, bounce, open, click, …' }),
  recipient: Type.Union([Type.String(), Type.Null()]),
  subject: Type.String(),
  friendlyFrom: Type.String(),
  reason: Type.Optional(Type.String({ description: 'Left out when the event has none' })),
  url: Type.Optional(Type.String({ description: 'Clicks: the link; left out otherwise' })),
  userAgent: Type.Optional(Type.String({ description: 'Opens and clicks; left out otherwise' })),
  timestamp: Type.Integer({ description: 'Unix milliseconds' }),
  messageId: Type.Union([Type.String(), Type.Null()], { description: 'Posthorn' }),
  bounceClass: Type.Union([Type.Integer(), Type.Null()], { description: 'Posthorn' }),
  metadata: Type.Record(Type.String(), Type.String(), { description: 'Posthorn: the metadata of the message' }),
});

const MessageQuery = Type.Intersect([
  Paging,
  Type.Object({
    status: Type.Optional(
      Type.Union(
        ['queued', 'sending', 'deferred', 'delivered', 'bounced', 'suppressed', 'captured', 'cancelled'].map((s) =>
          Type.Literal(s),
        ),
      ),
    ),
    recipient: Type.Optional(Type.String({ maxLength: 254 })),
    transmissionId: Type.Optional(Type.String({ maxLength: 64 })),
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'Created at or after: YYYY-MM-DD (UTC day) or ISO-8601 date-time' }),
    ),
    to: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'Created up to: YYYY-MM-DD (that whole UTC day) or ISO-8601 date-time',
      }),
    ),
  }),
]);

export function registerMessageRoutes(app: FastifyInstance, ctx: Context): void {
  const read = { permission: 'analytics' as const };

  app.get(
    '/v1/analytic/transmission/:id',
    {
      config: read,
      schema: {
        tags: ['Analytics'],
        summary: 'A transmission and its delivery counts',
        description:
          "The contract's DetailTransmissionData: createdAt in Unix milliseconds. " +
          'Posthorn adds scheduledAt, sandbox and stats.queued.',
        params: IdParam,
        response: { 200: TransmissionDetail, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return transmissionSummary(ctx, request.apiKey.accountId, id);
    },
  );

  app.get(
    '/v1/analytic/transmission/:id/events',
    {
      config: read,
      schema: {
        tags: ['Analytics'],
        summary: "A transmission's events, oldest first",
        description:
          "The contract's TransmissionEventResponse: timestamp in Unix milliseconds; " +
          'reason, url and userAgent are left out when empty.',
        params: IdParam,
        response: { 200: Type.Object({ events: Type.Array(TransmissionEvent) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return { events: await transmissionEvents(ctx, request.apiKey.accountId, id) };
    },
  );

  app.get(
    '/v1/messages',
    {
      config: read,
      schema: {
        tags: ['Messages'],
        summary: 'Per-recipient messages, newest first (Posthorn extension)',
        querystring: MessageQuery,
        response: errorResponses(401, 403, 422),
      },
    },
    async (request) => {
      const q = request.query as Static<typeof MessageQuery>;
      return listMessagesPage(
        ctx,
        {
          accountId: request.apiKey.accountId,
          status: q.status,
          recipient: q.recipient,
          transmissionId: q.transmissionId,
          ...createdBetween(q.from, q.to),
        },
        q.page ?? 1,
        q.size ?? 10,
      );
    },
  );

  app.get(
    '/v1/messages/:id',
    {
      config: read,
      schema: {
        tags: ['Messages'],
        summary: 'One message with its events',
        params: IdParam,
        response: errorResponses(401, 403, 404),
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return messageDetail(ctx, request.apiKey.accountId, id);
    },
  );

  app.get(
    '/v1/messages/:id/raw',
    {
      config: read,
      schema: { tags: ['Messages'], summary: 'The raw MIME of a captured message (message/rfc822)', params: IdParam },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParam>;
      const raw = await messageRaw(ctx, request.apiKey.accountId, id);
      return reply.type('message/rfc822').send(raw);
    },
  );

  app.get(
    '/v1/messages/:id/preview',
    {
      config: read,
      schema: {
        tags: ['Messages'],
        summary: 'A captured message decoded for display: subject, addresses, HTML, text, attachments',
        description:
          '`html` is the HTML part as sent; `displayHtml` is the same without the open-tracking pixel and with ' +
          'tracked links pointing at their destinations, so that showing it records no open and no click.',
        params: IdParam,
        response: errorResponses(401, 403, 404),
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return messagePreview(ctx, request.apiKey.accountId, id);
    },
  );
}
