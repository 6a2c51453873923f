// Webhook routes of the marketing surface: GET/POST /api/v1/webhooks, GET/PUT/DELETE
// /api/v1/webhooks/{id}, POST /api/v1/webhooks/{id}/test, GET /api/v1/webhooks/{id}/deliveries
// and GET /api/v1/webhookEvents. Events: subscriber.created, subscriber.updated,
// subscriber.unsubscribed, subscriber.optInConfirmed, mailing.sent, message.bounced,
// message.complained; deliveries are `{batchId, retryCount, events}`, signed as in delivery.md.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as webhooks from '../../services/webhooks.ts';
import type { WebhookAttemptView, WebhookInput, WebhookView } from '../../services/webhooks.ts';
import { parseId, parsePagingParams } from '../../services/marketing-params.ts';
import { MARKETING_WEBHOOK_EVENTS } from '../../domain/webhook-events.ts';
import { formatDate, one } from './envelope.ts';
import * as webhookFields from '../webhook-schemas.ts';
import { IdParam, ListOf, OneOf, PagingQuery, Timestamp, listReply, marketingErrors } from './common-schemas.ts';

const SURFACE = 'marketing' as const;
const EVENT_NAMES = MARKETING_WEBHOOK_EVENTS.map((e) => e.slug).join(', ');

const Fields = {
  name: Type.Optional(Type.String({ maxLength: 256, description: 'Defaults to the URL host' })),
  url: webhookFields.url,
  events: webhookFields.events(`Event names: ${EVENT_NAMES}; all of them when omitted`),
  ...webhookFields.settings(Type.String({ maxLength: 256 })),
};
const WebhookCreate = Type.Object(Fields, { description: 'url is required.' });
const WebhookUpdate = Type.Object(Fields, { description: 'Changes only the fields given.' });

const WebhookSchema = Type.Object({
  objectType: Type.Literal('Webhook'),
  id: Type.Integer(),
  name: Type.String(),
  url: Type.String(),
  ...webhookFields.view,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const DeliverySchema = Type.Object({
  objectType: Type.Literal('WebhookDelivery'),
  id: Type.Integer(),
  ...webhookFields.attempt,
  attemptedAt: Timestamp,
});

const TestResult = OneOf(Type.Object({ objectType: Type.Literal('WebhookTest'), ...webhookFields.test }));
const EventTypes = Type.Object({
  data: Type.Array(
    Type.Object({
      objectType: Type.Literal('WebhookEvent'),
      id: Type.Integer(),
      name: Type.String(),
      key: Type.String(),
      detail: Type.String(),
    }),
  ),
});

function present(w: WebhookView) {
  const { target, ...rest } = w;
  return {
    id: rest.id,
    name: rest.name,
    url: target,
    events: rest.events,
    basicAuth: rest.basicAuth,
    secret: rest.secret,
    active: rest.active,
    createdAt: formatDate(rest.createdAt)!,
    updatedAt: formatDate(rest.updatedAt)!,
  };
}
const presentDelivery = (a: WebhookAttemptView) => ({ ...a, attemptedAt: formatDate(a.attemptedAt)! });

/** The surface's `url` is the service's `target`. */
function input(body: Static<typeof WebhookUpdate>): WebhookInput {
  const { url, ...rest } = body;
  return { ...rest, ...(url !== undefined ? { target: url } : {}) };
}
const webhookId = (request: { params: unknown }) => parseId((request.params as Static<typeof IdParam>).id, 'Webhook');

export function registerWebhookRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'webhooks' as const };
  const tags = ['Webhooks'];

  app.get(
    '/api/v1/webhookEvents',
    {
      config,
      schema: {
        tags,
        summary: 'The events a webhook can subscribe to',
        response: { 200: EventTypes, ...marketingErrors(401, 403) },
      },
    },
    async () => ({
      data: MARKETING_WEBHOOK_EVENTS.map((e) => ({
        objectType: 'WebhookEvent' as const,
        id: e.id,
        name: e.name,
        key: e.slug,
        detail: e.detail,
      })),
    }),
  );

  app.get(
    '/api/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'List webhooks (id order)',
        querystring: PagingQuery,
        response: { 200: ListOf(WebhookSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    async (request) => {
      const paging = parsePagingParams(request.query as Static<typeof PagingQuery>);
      const page = await webhooks.listWebhooks(ctx, request.apiKey.accountId, SURFACE, paging.offset, paging.limit);
      return listReply(request, ctx, 'Webhook', { ...page, paging }, present);
    },
  );

  app.post(
    '/api/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'Create a webhook',
        body: WebhookCreate,
        response: { 201: OneOf(WebhookSchema), ...marketingErrors(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const created = await webhooks.createWebhook(
        ctx,
        request.apiKey.accountId,
        SURFACE,
        input(request.body as Static<typeof WebhookCreate>),
        'url',
      );
      return reply.code(201).send(one('Webhook', present(created)));
    },
  );

  app.get(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a webhook',
        params: IdParam,
        response: { 200: OneOf(WebhookSchema), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request) =>
      one('Webhook', present(await webhooks.getWebhook(ctx, request.apiKey.accountId, SURFACE, webhookId(request)))),
  );

  app.put(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a webhook (only the fields given)',
        params: IdParam,
        body: WebhookUpdate,
        response: { 200: OneOf(WebhookSchema), ...marketingErrors(400, 401, 403, 404, 415, 422) },
      },
    },
    async (request) =>
      one(
        'Webhook',
        present(
          await webhooks.updateWebhook(
            ctx,
            request.apiKey.accountId,
            SURFACE,
            webhookId(request),
            input(request.body as Static<typeof WebhookUpdate>),
            'url',
          ),
        ),
      ),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a webhook with its pending batches and log',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.deleteWebhook(ctx, request.apiKey.accountId, SURFACE, webhookId(request));
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/webhooks/:id/test',
    {
      config,
      schema: {
        tags,
        summary: 'Send one signed sample batch now and report the answer',
        params: IdParam,
        response: { 200: TestResult, ...marketingErrors(401, 403, 404) },
      },
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) =>
      one('WebhookTest', await webhooks.testWebhook(ctx, request.apiKey.accountId, SURFACE, webhookId(request))),
  );

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        summary: 'The delivery log: the latest attempts, newest first',
        params: IdParam,
        querystring: PagingQuery,
        response: { 200: ListOf(DeliverySchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const paging = parsePagingParams(request.query as Static<typeof PagingQuery>);
      const page = await webhooks.listWebhookAttempts(
        ctx,
        request.apiKey.accountId,
        SURFACE,
        webhookId(request),
        paging.offset,
        paging.limit,
      );
      return listReply(request, ctx, 'WebhookDelivery', { ...page, paging }, presentDelivery);
    },
  );
}
