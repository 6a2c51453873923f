// Customer field routes: GET/POST /api/v1/customerFields, GET/PUT/DELETE /api/v1/customerFields/{id}.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as fields from '../../services/customer-fields.ts';
import { parseId } from '../../services/marketing-params.ts';
import { formatDate, one } from './envelope.ts';
import {
  IdParam,
  ListOf,
  ListQuery,
  Nullable,
  OneOf,
  Timestamp,
  listHandler,
  marketingErrors,
} from './common-schemas.ts';

const FieldType = Type.Integer({ enum: [1, 2, 3], description: '1 subscriber, 2 account, 3 mailing' });
const ValueType = Type.Integer({
  enum: [1, 2, 3, 4, 5, 6],
  description: '1 string, 2 integer, 3 date (YYYY-MM-DD), 4 boolean, 5 string list, 6 currency (decimal string)',
});
const Flag = (description: string) => Type.Optional(Type.Boolean({ description: `${description}; default true` }));

const TranslationInput = Nullable(
  Type.Object({
    name: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  }),
);
const TranslationsInput = Type.Record(Type.String({ maxLength: 8 }), TranslationInput, {
  description:
    "Keyed by the account's languages (de, en); at least one needs a name. On PUT, each language sent replaces that " +
    'language (null removes it).',
});

const FieldCreate = Type.Object(
  {
    fieldType: FieldType,
    type: ValueType,
    isAvailableForImport: Flag('Offered as a column of imports'),
    isAvailableForExport: Flag('Included in exports'),
    isEditable: Flag('Editable by subscribers on the preferences page and by dashboard users'),
    translations: TranslationsInput,
  },
  { description: 'Unknown fields are ignored.' },
);
const FieldUpdate = Type.Object(
  {
    fieldType: Type.Optional(FieldType),
    type: Type.Optional(ValueType),
    isAvailableForImport: Type.Optional(Type.Boolean()),
    isAvailableForExport: Type.Optional(Type.Boolean()),
    isEditable: Type.Optional(Type.Boolean()),
    translations: Type.Optional(TranslationsInput),
  },
  {
    description:
      'Changes only the fields it sends. type and fieldType cannot change while the field has values or a dynamic ' +
      'group uses it (423).',
  },
);

const TranslationSchema = Type.Object({ name: Nullable(Type.String()), description: Nullable(Type.String()) });
const FieldSchema = Type.Object({
  objectType: Type.Literal('CustomerField'),
  id: Type.Integer(),
  fieldType: Type.Integer({ description: '1 subscriber, 2 account, 3 mailing' }),
  type: Type.Integer({ description: '1 string, 2 integer, 3 date, 4 boolean, 5 string list, 6 currency' }),
  isAvailableForImport: Type.Boolean(),
  isAvailableForExport: Type.Boolean(),
  isEditable: Type.Boolean(),
  translations: Type.Record(Type.String(), TranslationSchema, {
    description: 'Every account language; name and description null when not translated',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

function presentField(v: fields.CustomerFieldView) {
  const r = v.row;
  return {
    id: Number(r.id),
    fieldType: r.field_type,
    type: r.type,
    isAvailableForImport: r.is_available_for_import === 1,
    isAvailableForExport: r.is_available_for_export === 1,
    isEditable: r.is_editable === 1,
    translations: v.translations,
    createdAt: formatDate(r.created_at),
    updatedAt: formatDate(r.updated_at),
  };
}

export function registerCustomerFieldRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'subscribers' as const };
  const tags = ['Customer fields'];
  const fieldId = (params: unknown) => parseId((params as Static<typeof IdParam>).id, 'Customer field');

  app.get(
    '/api/v1/customerFields',
    {
      config,
      schema: {
        tags,
        summary: 'List customer fields (search: id, fieldType, type, createdAt, updatedAt)',
        querystring: ListQuery,
        response: { 200: ListOf(FieldSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    listHandler(ctx, 'CustomerField', fields.listCustomerFields, presentField),
  );

  app.post(
    '/api/v1/customerFields',
    {
      config,
      schema: {
        tags,
        summary: 'Create a customer field',
        body: FieldCreate,
        response: { 201: OneOf(FieldSchema), ...marketingErrors(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const v = await fields.createCustomerField(
        ctx,
        request.apiKey.accountId,
        request.body as Static<typeof FieldCreate>,
      );
      return reply.code(201).send(one('CustomerField', presentField(v)));
    },
  );

  app.get(
    '/api/v1/customerFields/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a customer field',
        params: IdParam,
        response: { 200: OneOf(FieldSchema), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request) =>
      one(
        'CustomerField',
        presentField(await fields.getCustomerField(ctx, request.apiKey.accountId, fieldId(request.params))),
      ),
  );

  app.put(
    '/api/v1/customerFields/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a customer field (only the fields sent)',
        params: IdParam,
        body: FieldUpdate,
        response: { 200: OneOf(FieldSchema), ...marketingErrors(400, 401, 403, 404, 415, 422, 423) },
      },
    },
    async (request) =>
      one(
        'CustomerField',
        presentField(
          await fields.updateCustomerField(
            ctx,
            request.apiKey.accountId,
            fieldId(request.params),
            request.body as Static<typeof FieldUpdate>,
          ),
        ),
      ),
  );

  app.delete(
    '/api/v1/customerFields/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a customer field and every value of it (423 while a dynamic group filters on it)',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404, 423) },
      },
    },
    async (request, reply) => {
      await fields.deleteCustomerField(ctx, request.apiKey.accountId, fieldId(request.params));
      return reply.code(204).send();
    },
  );
}
