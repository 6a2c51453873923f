// Template routes. GET/POST /v1/template follow Mailtarget's published contract
// (apiconfig-openapi-spec.json, public repository wisnuekas/mailtarget-sentinel): the client names
// the template (`id`), POST answers a boolean, ids are strings and times Unix milliseconds.
// GET/PUT/DELETE /v1/template/{id} and POST /v1/template/{id}/preview are Posthorn's own (the
// contract has no such paths); they use the same template shape.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  previewTemplate,
  updateTemplate,
} from '../../services/templates.ts';
import { IdParam, Line, Paging, errorResponses } from './schemas.ts';

// LiquidJS refuses to parse more than this many characters (render.ts parseLimit).
const MAX_BODY_CHARS = 5_000_000;

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

const Name = Line({ maxLength: 256, description: 'Shown in lists; not unique' });
const Subject = Line({
  maxLength: 10000,
  description: 'May contain {{placeholders}}; used when a transmission gives no subject',
});
const Html = Type.String({
  maxLength: MAX_BODY_CHARS,
  description: 'HTML body; {{var}} is HTML-escaped, {{{var}}} is inserted raw',
});
const Text = Type.String({
  maxLength: MAX_BODY_CHARS,
  description: 'Plain-text body; derived from the HTML when absent',
});

const TemplateId = Type.String({
  maxLength: 64,
  description:
    'Chosen by you, unique in the account: 1 to 64 letters, digits, "-", "_" or ".". ' +
    'The contract requires it; Posthorn generates one when it is absent (see the ' +
    'Location header).',
});

const TemplateBody = Type.Object(
  {
    id: Type.Optional(TemplateId),
    name: Name,
    subject: Type.Optional(Nullable(Subject)),
    html: Type.Optional(Nullable(Html)),
    text: Type.Optional(Nullable(Text)),
  },
  { description: 'At least html or text is required. Unknown fields are ignored.' },
);

const TemplateUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    subject: Type.Optional(Nullable(Subject)),
    html: Type.Optional(Nullable(Html)),
    text: Type.Optional(Nullable(Text)),
  },
  {
    description:
      'Replaces the fields given and keeps the others; null clears subject, html or ' +
      'text ("" is absent, like every empty value on /v1, so it keeps the field). The ' +
      'result must still have html or text.',
  },
);

const PreviewBody = Type.Object({
  substitutionData: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'Template variables, at most 100 KB serialized' }),
  ),
  draft: Type.Optional(
    Type.Object(
      { subject: Type.Optional(Subject), html: Type.Optional(Html), text: Type.Optional(Text) },
      { description: "Unsaved parts rendered instead of the saved ones (the dashboard editor's live preview)" },
    ),
  ),
});

const TemplateSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Type.Integer({ description: 'Unix milliseconds' }),
    updatedAt: Type.Integer({ description: 'Unix milliseconds' }),
    subject: Nullable(Type.String({ description: 'Posthorn' })),
    html: Nullable(Type.String({ description: 'Posthorn' })),
    text: Nullable(Type.String({ description: 'Posthorn' })),
  },
  {
    description: "The contract's TemplateData (id, name, createdAt, updatedAt) plus Posthorn's subject, html and text",
  },
);

const TemplateList = Type.Object({ count: Type.Integer(), data: Type.Array(TemplateSchema) });
const TemplateListQuery = Type.Intersect([
  Paging,
  Type.Object({
    search: Type.Optional(Type.String({ maxLength: 256, description: 'Part of the id or name, any case' })),
  }),
]);
const Deleted = Type.Object({ message: Type.String(), id: Type.String() });
const Preview = Type.Object({
  subject: Nullable(Type.String({ description: 'Never HTML-escaped; null when the template has no subject' })),
  html: Nullable(Type.String()),
  text: Nullable(Type.String({ description: "The template's text, or one derived from the rendered HTML" })),
});

export function registerTemplateRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'templates' as const };
  const tags = ['Templates'];

  app.get(
    '/v1/template',
    {
      config,
      schema: {
        tags,
        summary: 'List templates, newest first',
        description: 'Shape `{count, data:[…]}` (model.Counter-model_TemplateData).',
        querystring: TemplateListQuery,
        response: { 200: TemplateList, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof TemplateListQuery>;
      return listTemplates(ctx, request.apiKey.accountId, { page: q.page ?? 1, size: q.size ?? 10, search: q.search });
    },
  );

  app.post(
    '/v1/template',
    {
      config,
      schema: {
        tags,
        summary: 'Create a template',
        description:
          'Answers 200 with the JSON boolean `true`, as the contract does; the Location ' +
          'header names the new template ' +
          '(/v1/template/{id}). An id the account already uses is a 409. Posthorn also takes subject and text.',
        body: TemplateBody,
        response: { 200: Type.Boolean(), ...errorResponses(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const template = await createTemplate(ctx, request.apiKey.accountId, request.body as Static<typeof TemplateBody>);
      return reply.header('location', `/v1/template/${encodeURIComponent(template.id)}`).send(true);
    },
  );

  app.get(
    '/v1/template/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a template',
        description: 'Posthorn extension: the contract has no /template/{id} paths.',
        params: IdParam,
        response: { 200: TemplateSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return getTemplate(ctx, request.apiKey.accountId, id);
    },
  );

  app.put(
    '/v1/template/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a template (only the fields given)',
        description: 'Posthorn extension: the contract has no /template/{id} paths.',
        params: IdParam,
        body: TemplateUpdateBody,
        response: { 200: TemplateSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return updateTemplate(ctx, request.apiKey.accountId, id, request.body as Static<typeof TemplateUpdateBody>);
    },
  );

  app.delete(
    '/v1/template/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a template; transmissions already accepted are not affected',
        description: 'Posthorn extension: the contract has no /template/{id} paths.',
        params: IdParam,
        response: { 200: Deleted, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      await deleteTemplate(ctx, request.apiKey.accountId, id);
      return { message: 'Template deleted', id };
    },
  );

  app.post(
    '/v1/template/:id/preview',
    {
      config,
      schema: {
        tags,
        summary: 'Render a template with the given substitution data',
        description: 'Posthorn extension: the contract has no /template/{id} paths.',
        params: IdParam,
        body: PreviewBody,
        response: { 200: Preview, ...errorResponses(400, 401, 403, 404, 415, 422) },
      },
      // The body is optional here: a POST without one previews with no substitution data.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      const body = request.body as Static<typeof PreviewBody>;
      return previewTemplate(ctx, request.apiKey.accountId, id, body.substitutionData ?? {}, body.draft ?? {});
    },
  );
}
