// Trigger mailing routes: GET /api/v1/triggerTypes (the active trigger keys) and
// POST /api/v1/triggerTypes/{key}/send (one message of that mailing to one person).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as triggers from '../../services/trigger-mailings.ts';
import { invalid } from '../../services/errors.ts';
import { one } from './envelope.ts';
import { ListOf, Nullable, OneOf, PagingQuery, listHandler, marketingErrors } from './common-schemas.ts';

const TriggerTypeSchema = Type.Object({
  objectType: Type.Literal('TriggerType'),
  key: Type.String(),
  name: Type.String({ description: "The primary (oldest) variant's mailing name" }),
  mailingId: Type.Integer({ description: 'The primary variant' }),
  languages: Type.Array(Type.String(), {
    description: 'The languages the trigger exists in (one active mailing each)',
  }),
});

const KeyParam = Type.Object({ key: Type.String({ description: 'The triggerKey of an active trigger mailing' }) });

const SendBody = Type.Object(
  {
    email: Type.String({ maxLength: 254 }),
    language: Type.Optional(
      Nullable(
        Type.String({
          maxLength: 8,
          description: "Variant to send; default the subscriber's language, then the primary variant",
        }),
      ),
    ),
    data: Type.Optional(
      Nullable(
        Type.Record(Type.String(), Type.Unknown(), {
          description:
            'Template variables: as {{data.x}} and at the top level, where they win over subscriber fields (not over ' +
            'the links)',
        }),
      ),
    ),
  },
  {
    description:
      'Sends to a ready subscriber; an address that is not a subscriber needs the key\'s "Unknown recipients" ' +
      'permission.',
  },
);

const SendSchema = Type.Object({
  objectType: Type.Literal('TriggerMailingSend'),
  key: Type.String(),
  mailingId: Type.Integer(),
  messageId: Type.String({ description: 'The outbox message (as in GET /api/v1/mailings/{id}/recipients)' }),
});

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description: 'At most 256 characters; a repeat within 24 h returns the first answer and sends nothing',
    }),
  ),
});

export function registerTriggerTypeRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'mailings' as const };
  const tags = ['Trigger mailings'];

  app.get(
    '/api/v1/triggerTypes',
    {
      config,
      schema: {
        tags,
        summary: 'List the active trigger types',
        querystring: PagingQuery,
        response: { 200: ListOf(TriggerTypeSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    listHandler(ctx, 'TriggerType', triggers.listTriggerTypes, (t) => t),
  );

  app.post(
    '/api/v1/triggerTypes/:key/send',
    {
      // The key is kept in the send's own transaction (src/services/trigger-mailings.ts).
      config: { ...config, idempotency: 'own' },
      schema: {
        tags,
        summary:
          'Send the trigger mailing to one subscriber (or, with the "Unknown recipients" permission, to any address)',
        params: KeyParam,
        headers: IdempotencyHeaders,
        body: SendBody,
        response: { 201: OneOf(SendSchema), ...marketingErrors(400, 401, 403, 404, 409, 415, 422) },
      },
    },
    async (request, res) => {
      const { key } = request.params as Static<typeof KeyParam>;
      const idem = request.headers['idempotency-key'];
      const idempotencyKey = Array.isArray(idem) ? idem[0] : idem;
      if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 256))
        throw invalid('Idempotency-Key', 'must be 1 to 256 characters');
      const sent = await triggers.sendTrigger(
        ctx,
        request.apiKey,
        key,
        request.body as Static<typeof SendBody>,
        idempotencyKey,
      );
      return res
        .code(201)
        .send(one('TriggerMailingSend', { key, mailingId: sent.mailingId, messageId: sent.messageId }));
    },
  );
}
