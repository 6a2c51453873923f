// Webhook routes of the transactional surface: GET/POST /v1/webhooks, GET/PUT/DELETE
// /v1/webhooks/:id, POST /v1/webhooks/:id/test, GET /v1/webhooks/:id/deliveries and
// GET /v1/webhook-events. Deliveries are `{batchId, retryCount, events:[…]}` (see delivery.md).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as webhooks from '../../services/webhooks.ts';
import type { WebhookAttemptView, WebhookView } from '../../services/webhooks.ts';
import { parseId } from '../../services/marketing-params.ts';
import { TRANSACTIONAL_WEBHOOK_EVENTS } from '../../domain/webhook-events.ts';
import { IdParam, Line, Paging, errorResponses } from './schemas.ts';
import * as webhookFields from '../webhook-schemas.ts';

const SURFACE = 'transactional' as const;
const EVENT_SLUGS = TRANSACTIONAL_WEBHOOK_EVENTS.map((e) => e.slug).join(', ');

const Fields = {
  name: Type.Optional(Line({ maxLength: 256, description: 'Defaults to the target host' })),
  target: webhookFields.url,
  events: webhookFields.events(`Event slugs (GET /v1/webhook-events): ${EVENT_SLUGS}; all of them when omitted`),
  ...webhookFields.settings(Line({ maxLength: 256 })),
};
const WebhookBody = Type.Object(Fields, { description: 'target is required. Unknown fields are ignored.' });
const WebhookUpdateBody = Type.Object(Fields, { description: 'Changes only the fields given.' });

const WebhookSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  target: Type.String(),
  ...webhookFields.view,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const WebhookList = Type.Object({ count: Type.Integer(), data: Type.Array(WebhookSchema) });

const AttemptSchema = Type.Object({
  id: Type.String(),
  ...webhookFields.attempt,
  attemptedAt: Type.String({ format: 'date-time' }),
});
const AttemptList = Type.Object({ count: Type.Integer(), data: Type.Array(AttemptSchema) });
const TestResult = Type.Object(webhookFields.test);
const EventTypeList = Type.Array(
  Type.Object({ id: Type.Integer(), name: Type.String(), slug: Type.String(), detail: Type.String() }),
);
const Deleted = Type.Object({ message: Type.String(), id: Type.String() });

const iso = (ms: number) => new Date(ms).toISOString();
const present = (w: WebhookView) => ({
  ...w,
  id: String(w.id),
  createdAt: iso(w.createdAt),
  updatedAt: iso(w.updatedAt),
});
const presentAttempt = (a: WebhookAttemptView) => ({ ...a, id: String(a.id), attemptedAt: iso(a.attemptedAt) });
const webhookId = (request: { params: unknown }) => parseId((request.params as Static<typeof IdParam>).id, 'Webhook');

export function registerWebhookRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'webhooks' as const };
  const tags = ['Webhooks'];

  app.get(
    '/v1/webhook-events',
    {
      config,
      schema: {
        tags,
        summary: 'The events a webhook can subscribe to',
        response: { 200: EventTypeList, ...errorResponses(401, 403) },
      },
    },
    async () => TRANSACTIONAL_WEBHOOK_EVENTS.map(({ id, name, slug, detail }) => ({ id, name, slug, detail })),
  );

  app.get(
    '/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'List webhooks',
        querystring: Paging,
        response: { 200: WebhookList, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof Paging>;
      const size = q.size ?? 10;
      const { total, rows } = await webhooks.listWebhooks(
        ctx,
        request.apiKey.accountId,
        SURFACE,
        ((q.page ?? 1) - 1) * size,
        size,
      );
      return { count: total, data: rows.map(present) };
    },
  );

  app.post(
    '/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'Create a webhook',
        body: WebhookBody,
        response: { 201: WebhookSchema, ...errorResponses(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const created = await webhooks.createWebhook(
        ctx,
        request.apiKey.accountId,
        SURFACE,
        request.body as Static<typeof WebhookBody>,
      );
      return reply.code(201).send(present(created));
    },
  );

  app.get(
    '/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a webhook',
        params: IdParam,
        response: { 200: WebhookSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => present(await webhooks.getWebhook(ctx, request.apiKey.accountId, SURFACE, webhookId(request))),
  );

  app.put(
    '/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a webhook (only the fields given)',
        params: IdParam,
        body: WebhookUpdateBody,
        response: { 200: WebhookSchema, ...errorResponses(400, 401, 403, 404, 415, 422) },
      },
    },
    async (request) =>
      present(
        await webhooks.updateWebhook(
          ctx,
          request.apiKey.accountId,
          SURFACE,
          webhookId(request),
          request.body as Static<typeof WebhookUpdateBody>,
        ),
      ),
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a webhook with its pending batches and log',
        params: IdParam,
        response: { 200: Deleted, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const id = webhookId(request);
      await webhooks.deleteWebhook(ctx, request.apiKey.accountId, SURFACE, id);
      return { message: 'Webhook deleted', id: String(id) };
    },
  );

  app.post(
    '/v1/webhooks/:id/test',
    {
      config,
      schema: {
        tags,
        summary: 'Send one signed sample batch now and report the answer',
        params: IdParam,
        response: { 200: TestResult, ...errorResponses(401, 403, 404) },
      },
      // No body is needed here.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => webhooks.testWebhook(ctx, request.apiKey.accountId, SURFACE, webhookId(request)),
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        summary: 'The delivery log: the latest attempts, newest first',
        params: IdParam,
        querystring: Paging,
        response: { 200: AttemptList, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof Paging>;
      const size = q.size ?? 10;
      const { total, rows } = await webhooks.listWebhookAttempts(
        ctx,
        request.apiKey.accountId,
        SURFACE,
        webhookId(request),
        ((q.page ?? 1) - 1) * size,
        size,
      );
      return { count: total, data: rows.map(presentAttempt) };
    },
  );
}
