// Mailing routes: GET/POST /api/v1/mailings, GET/PUT/DELETE /api/v1/mailings/{id}, the actions
// send, schedule, pause, resume, cancel and test, and the recipients list and preview.
// (GET /api/v1/mailings/{id}/statistics lives with the statistics routes.)
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as mailings from '../../services/mailings.ts';
import * as actions from '../../services/mailing-actions.ts';
import * as views from '../../services/mailing-views.ts';
import { groupIdsOf } from '../../services/mailing-audience.ts';
import { isSandboxKey } from '../../services/sandbox.ts';
import type { ApiKeyInfo } from '../../services/api-keys.ts';
import { ServiceError, invalid } from '../../services/errors.ts';
import { parseId, type ListQuery as ListQueryValues } from '../../services/marketing-params.ts';
import type { MailingRow, MessageRow } from '../../services/rows.ts';
import { MAILING_STATUSES, MAILING_TYPES } from '../../domain/mailing-rules.ts';
import { parseJson } from '../../domain/json.ts';
import { formatDate, one, parseDateTime } from './envelope.ts';
import {
  IdParam,
  ListOf,
  ListQuery,
  Nullable,
  OneOf,
  Timestamp,
  listHandler,
  listReply,
  marketingErrors,
} from './common-schemas.ts';

const Text = (max: number, description?: string) =>
  Type.Optional(Nullable(Type.String({ maxLength: max, ...(description ? { description } : {}) })));

const MailingBody = (create: boolean) =>
  Type.Object(
    {
      name: create
        ? Type.String({ minLength: 1, maxLength: 255 })
        : Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      type: Type.Optional(Type.String({ enum: [...MAILING_TYPES], description: 'Default standard' })),
      senderName: Text(255),
      senderEmail: Text(254, "Default: the channel's sender"),
      replyTo: Text(254),
      subject: Text(998, 'Liquid template: {{firstname}}, {{customerFields.<id or name>}} …'),
      preheader: Text(500, 'The inbox preview line; a Liquid template'),
      html: Text(
        5_000_000,
        'Liquid template; {{unsubscribeUrl}}, {{preferencesUrl}} and {{webViewUrl}} are the personal links',
      ),
      text: Text(5_000_000, 'Liquid template; derived from html when missing'),
      templateId: Text(64, 'A template whose subject/html/text fill in what the mailing leaves empty'),
      languageIso: Text(2),
      channelId: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
      subscriberGroupIds: Type.Optional(
        Nullable(
          Type.Array(Type.Integer({ minimum: 1 }), {
            maxItems: 100,
            description: 'Target groups of the channel; none = every ready subscriber (of the channel)',
          }),
        ),
      ),
      tracking: Type.Optional(
        Nullable(Type.Object({ opens: Type.Optional(Type.Boolean()), clicks: Type.Optional(Type.Boolean()) })),
      ),
      customerFields: Type.Optional(
        Nullable(
          Type.Record(Type.String(), Type.Unknown(), {
            description: 'Mailing custom field values (fieldType 3), keyed by field id',
          }),
        ),
      ),
      triggerKey: Type.Optional(
        Nullable(
          Type.String({
            maxLength: 64,
            description:
              'Trigger mailings only: the key of POST /api/v1/triggerTypes/{key}/send ([a-z0-9_.-]{1,64}); one live ' +
              'mailing per key and language',
          }),
        ),
      ),
    },
    {
      description: create
        ? 'Unknown fields are ignored; status, scheduledAt and sentAt are read-only.'
        : 'Changes only the fields it sends; only drafts and scheduled mailings change (423 otherwise).',
    },
  );
const MailingCreate = MailingBody(true);
const MailingUpdate = MailingBody(false);

const MailingSchema = Type.Object({
  objectType: Type.Literal('Mailing'),
  id: Type.Integer(),
  name: Type.String(),
  type: Type.String({ enum: [...MAILING_TYPES] }),
  status: Type.String({ enum: [...MAILING_STATUSES] }),
  senderName: Nullable(Type.String()),
  senderEmail: Nullable(Type.String()),
  replyTo: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  preheader: Nullable(Type.String()),
  html: Nullable(Type.String()),
  text: Nullable(Type.String()),
  templateId: Nullable(Type.String()),
  languageIso: Nullable(Type.String()),
  channelId: Nullable(Type.Integer()),
  subscriberGroupIds: Type.Array(Type.Integer()),
  scheduledAt: Nullable(Timestamp),
  sentAt: Nullable(Timestamp),
  recipientCount: Type.Integer({ description: 'Messages materialized so far (grows while sending)' }),
  tracking: Type.Object({ opens: Type.Boolean(), clicks: Type.Boolean() }),
  customerFields: Type.Record(Type.String(), Type.Unknown()),
  triggerKey: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const RecipientSchema = Type.Object({
  objectType: Type.Literal('MailingRecipient'),
  subscriberId: Nullable(Type.Integer()),
  email: Type.String(),
  status: Type.String({
    description: 'queued, sending, deferred, held (paused), delivered, bounced, suppressed, captured, cancelled',
  }),
  messageId: Type.String(),
  attempts: Type.Integer(),
  lastResponse: Nullable(Type.String()),
  bounceClass: Nullable(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deliveredAt: Nullable(Timestamp),
});

const PreviewSchema = Type.Object({
  objectType: Type.Literal('MailingPreview'),
  mailingId: Type.Integer(),
  subscriberId: Nullable(Type.Integer()),
  subject: Type.String(),
  html: Nullable(Type.String()),
  text: Nullable(Type.String()),
});

const TestSchema = Type.Object({
  objectType: Type.Literal('MailingTest'),
  mailingId: Type.Integer(),
  transmissionId: Type.String(),
  messages: Type.Array(Type.Object({ email: Type.String(), messageId: Type.String() })),
});

const ScheduleBody = Type.Object({
  scheduledAt: Type.String({ description: 'YYYY-MM-DD HH:MM:SS (UTC); a time already past starts at once' }),
});
const TestBody = Type.Object({ emails: Type.Array(Type.String({ maxLength: 254 }), { minItems: 1, maxItems: 20 }) });
const PreviewQuery = Type.Object({
  subscriberId: Type.Optional(
    Type.String({ maxLength: 20, description: 'Render for this subscriber; without it, with empty fields' }),
  ),
});

export function presentMailing(m: MailingRow) {
  return {
    id: m.id,
    name: m.name,
    type: m.type,
    status: m.status,
    senderName: m.sender_name,
    senderEmail: m.sender_email,
    replyTo: m.reply_to,
    subject: m.subject,
    preheader: m.preheader,
    html: m.html,
    text: m.text,
    templateId: m.template_id,
    languageIso: m.language_iso,
    channelId: m.channel_id,
    subscriberGroupIds: groupIdsOf(m),
    scheduledAt: formatDate(m.scheduled_at),
    sentAt: formatDate(m.sent_at),
    recipientCount: m.recipient_count,
    tracking: { opens: m.tracking_opens === 1, clicks: m.tracking_clicks === 1 },
    customerFields: parseJson<Record<string, unknown>>(m.customer_fields, {}),
    triggerKey: m.trigger_key,
    createdAt: formatDate(m.created_at),
    updatedAt: formatDate(m.updated_at),
  };
}

function presentRecipient(r: MessageRow) {
  return {
    subscriberId: r.subscriber_id === null || r.subscriber_id === undefined ? null : Number(r.subscriber_id),
    email: r.recipient,
    status: r.status,
    messageId: r.id,
    attempts: Number(r.attempts),
    lastResponse: r.last_response,
    bounceClass: r.bounce_class === null ? null : Number(r.bounce_class),
    createdAt: formatDate(Number(r.created_at)),
    updatedAt: formatDate(Number(r.updated_at)),
    deliveredAt: formatDate(r.delivered_at === null ? null : Number(r.delivered_at)),
  };
}

export function registerMailingRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'mailings' as const };
  const tags = ['Mailings'];
  const mailingId = (params: unknown) => parseId((params as Static<typeof IdParam>).id, 'Mailing');
  const reply = (m: MailingRow) => one('Mailing', presentMailing(m));

  app.get(
    '/api/v1/mailings',
    {
      config,
      schema: {
        tags,
        summary: 'List mailings (search: id, name, type, status, channelId, createdAt, updatedAt, scheduledAt, sentAt)',
        querystring: ListQuery,
        response: { 200: ListOf(MailingSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    listHandler(ctx, 'Mailing', mailings.listMailings, presentMailing),
  );

  app.post(
    '/api/v1/mailings',
    {
      config,
      schema: {
        tags,
        summary: 'Create a mailing (a draft)',
        body: MailingCreate,
        response: { 201: OneOf(MailingSchema), ...marketingErrors(400, 401, 403, 415, 422) },
      },
    },
    async (request, res) =>
      res
        .code(201)
        .send(
          reply(
            await mailings.createMailing(ctx, request.apiKey.accountId, request.body as Static<typeof MailingCreate>),
          ),
        ),
  );

  app.get(
    '/api/v1/mailings/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a mailing',
        params: IdParam,
        response: { 200: OneOf(MailingSchema), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request) => reply(await mailings.findMailingOr404(ctx, request.apiKey.accountId, mailingId(request.params))),
  );

  app.put(
    '/api/v1/mailings/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a draft or scheduled mailing (only the fields sent)',
        params: IdParam,
        body: MailingUpdate,
        response: { 200: OneOf(MailingSchema), ...marketingErrors(400, 401, 403, 404, 415, 422, 423) },
      },
    },
    async (request) =>
      reply(
        await mailings.updateMailing(
          ctx,
          request.apiKey.accountId,
          mailingId(request.params),
          request.body as Static<typeof MailingUpdate>,
        ),
      ),
  );

  app.delete(
    '/api/v1/mailings/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a draft or scheduled mailing',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404, 423) },
      },
    },
    async (request, res) => {
      await mailings.deleteMailing(ctx, request.apiKey.accountId, mailingId(request.params));
      return res.code(204).send();
    },
  );

  const action = (
    path: string,
    summary: string,
    run: (accountId: string, id: number, key: ApiKeyInfo) => Promise<MailingRow>,
  ) =>
    app.post(
      `/api/v1/mailings/:id/${path}`,
      {
        config,
        schema: {
          tags,
          summary,
          params: IdParam,
          response: { 200: OneOf(MailingSchema), ...marketingErrors(401, 403, 404, 409, 422, 429) },
        },
      },
      async (request) => reply(await run(request.apiKey.accountId, mailingId(request.params), request.apiKey)),
    );
  action(
    'send',
    'Start sending now (409 when it is sending or sent; 429 when its audience would pass a sending limit). ' +
      'Sent with a sandbox key, its messages are captured, not delivered.',
    (a, id, key) => actions.sendMailing(ctx, a, id, { sandbox: isSandboxKey(key) }),
  );
  action('pause', 'Pause a sending mailing: its queued messages wait', (a, id) => actions.pauseMailing(ctx, a, id));
  action('resume', 'Resume a paused mailing', (a, id) => actions.resumeMailing(ctx, a, id));
  action('cancel', 'Cancel a scheduled, sending or paused mailing: unsent messages are cancelled', (a, id) =>
    actions.cancelMailing(ctx, a, id),
  );

  app.post(
    '/api/v1/mailings/:id/schedule',
    {
      config,
      schema: {
        tags,
        summary: 'Schedule a draft (or move a scheduled mailing)',
        params: IdParam,
        body: ScheduleBody,
        response: { 200: OneOf(MailingSchema), ...marketingErrors(400, 401, 403, 404, 409, 415, 422) },
      },
    },
    async (request) => {
      const { scheduledAt } = request.body as Static<typeof ScheduleBody>;
      const at = parseDateTime(scheduledAt);
      if (at === null) throw invalid('scheduledAt', 'must be a date and time as YYYY-MM-DD HH:MM:SS (UTC)');
      return reply(
        await actions.scheduleMailing(ctx, request.apiKey.accountId, mailingId(request.params), at, {
          sandbox: isSandboxKey(request.apiKey),
        }),
      );
    },
  );

  app.post(
    '/api/v1/mailings/:id/test',
    {
      config,
      schema: {
        tags,
        summary: 'Send test messages ("[Test]" in the subject; not counted, not recipients)',
        params: IdParam,
        body: TestBody,
        response: { 200: OneOf(TestSchema), ...marketingErrors(400, 401, 403, 404, 415, 422, 429) },
      },
    },
    async (request) => {
      const id = mailingId(request.params);
      const result = await views.testSendMailing(
        ctx,
        request.apiKey.accountId,
        id,
        (request.body as Static<typeof TestBody>).emails,
        { sandbox: isSandboxKey(request.apiKey) },
      );
      return one('MailingTest', { mailingId: id, ...result });
    },
  );

  app.get(
    '/api/v1/mailings/:id/recipients',
    {
      config,
      schema: {
        tags,
        summary: 'Per-recipient status (search: subscriberId, email, status, createdAt, updatedAt)',
        params: IdParam,
        querystring: ListQuery,
        response: { 200: ListOf(RecipientSchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) =>
      listReply(
        request,
        ctx,
        'MailingRecipient',
        await views.listMailingRecipients(
          ctx,
          request.apiKey.accountId,
          mailingId(request.params),
          request.query as ListQueryValues,
        ),
        presentRecipient,
      ),
  );

  app.get(
    '/api/v1/mailings/:id/preview',
    {
      config,
      schema: {
        tags,
        summary: 'The mailing rendered for one subscriber',
        params: IdParam,
        querystring: PreviewQuery,
        response: { 200: OneOf(PreviewSchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const id = mailingId(request.params);
      const raw = (request.query as Static<typeof PreviewQuery>).subscriberId;
      let subscriberId: number | null = null;
      if (raw !== undefined && raw !== '') {
        try {
          subscriberId = parseId(raw, 'Subscriber');
        } catch (error) {
          if (error instanceof ServiceError) throw invalid('subscriberId', 'must be a subscriber id');
          throw error;
        }
      }
      const p = await views.previewMailing(ctx, request.apiKey.accountId, id, subscriberId);
      return one('MailingPreview', {
        mailingId: id,
        subscriberId: p.subscriberId,
        subject: p.subject,
        html: p.html,
        text: p.text,
      });
    },
  );
}
