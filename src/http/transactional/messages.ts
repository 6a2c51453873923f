// Read-back routes: transmission analytics and the per-recipient messages (Posthorn extension).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../services/context.ts';
import {
  listMessagesPage,
  messageDetail,
  messagePreview,
  messageRaw,
  transmissionEvents,
  transmissionSummary,
} from '../../services/messages.ts';
import { IdParam, Paging, errorResponses } from './schemas.ts';

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
        params: IdParam,
        response: errorResponses(401, 403, 404),
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
        params: IdParam,
        response: errorResponses(401, 403, 404),
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
