// Subscriber routes under /api/v1: list, create, read, change, erase, register (web forms), bulk
// upsert, unsubscribe, group memberships and the streamed CSV/NDJSON export.
//
// Write bodies are checked by parseSubscriberInput (src/domain/subscriber-input.ts), not by the
// schema validator: the seed's error body lists every invalid field at once in its own wording
// ("The email must be a valid email address."), and a bulk request must judge each item on its
// own. The TypeBox schemas below still document the fields in the OpenAPI document.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifySchemaCompiler } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { ServiceError } from '../../services/errors.ts';
import { parseId } from '../../services/marketing-params.ts';
import * as subscribers from '../../services/subscribers.ts';
import { SubscriberValidationError, type GroupRecord, type SubscriberRecord } from '../../services/subscribers.ts';
import { SUBSCRIBER_SEARCH, SUBSCRIBER_SORTABLE } from '../../services/subscriber-search.ts';
import { TEXT_FIELDS, MAX_CHANNELS, MAX_EMAIL_LENGTH } from '../../domain/subscriber-input.ts';
import { csvLine, subscriberCsvCells, subscriberCsvHeader } from '../../domain/subscriber-csv.ts';
import { validatorCompiler } from '../validation.ts';
import { formatDate, one } from './envelope.ts';
import { sendMarketingError } from './errors.ts';
import { ChannelSchema, presentChannel } from './channels.ts';
import { IdParam, ListOf, OneOf, PagingQuery, Timestamp, listReply, marketingErrors } from './common-schemas.ts';

// ---------------------------------------------------------------------------------------------
// schemas

const NullableOf = (type: string, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<unknown>({ type: [type, 'null'], ...opts });

const textProperties = Object.fromEntries(
  Object.entries(TEXT_FIELDS).map(([name, rule]) => [
    name,
    Type.Optional(
      NullableOf('string', { maxLength: rule.max, description: rule.multiline ? undefined : 'No line breaks' }),
    ),
  ]),
) as Record<keyof typeof TEXT_FIELDS, TSchema>;

const writableProperties = {
  email: Type.String({
    maxLength: MAX_EMAIL_LENGTH,
    description: 'Unique per account; stored lower-cased. Required when creating.',
  }),
  status: Type.Optional(
    Type.Integer({
      enum: [1, 2, 3],
      description:
        '1 ready, 2 not ready, 3 archived; changes out of 3, and from 1 to 3, need the key’s advanced permissions ' +
        '(else 423/1025)',
    }),
  ),
  statusAddition: Type.Optional(
    NullableOf('integer', {
      description:
        'null with status 1; 1 (opt-in pending) with 2; 2 unsubscribed, 3 manual, 4 spam complaint, 5 hard bounce ' +
        'with 3. Defaults to the status’s first value.',
    }),
  ),
  genderId: Type.Optional(NullableOf('integer', { enum: [1, 2, 3, null], description: '1 Mr, 2 Mrs, 3 Mx' })),
  languageIso: Type.Optional(NullableOf('string', { description: 'Two-letter code, e.g. de' })),
  ...textProperties,
  birthday: Type.Optional(NullableOf('string', { description: 'YYYY-MM-DD' })),
  optInIp: Type.Optional(NullableOf('string', { description: 'IPv4 or IPv6 address the opt-in was given from' })),
  optInConfirmedAt: Type.Optional(NullableOf('string', { description: 'YYYY-MM-DD HH:MM:SS (UTC)' })),
  customerFields: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'Values of the account’s subscriber fields, keyed by field id and checked by the field’s type; null clears a ' +
        'value',
    }),
  ),
  channels: Type.Optional(
    Type.Array(Type.Integer(), {
      maxItems: MAX_CHANNELS,
      description: 'Channel ids; replaces the subscriber’s channels',
    }),
  ),
};

const SubscriberCreate = Type.Object(
  {
    ...writableProperties,
    sendOptIn: Type.Optional(
      Type.Boolean({
        description: 'true: create as 2/1 and send the opt-in mail of the first channel given (or the account default)',
      }),
    ),
  },
  { description: 'Every invalid field is reported at once. Unknown fields are ignored.' },
);
const SubscriberUpdate = Type.Object(
  {
    ...writableProperties,
    email: Type.Optional(writableProperties.email),
    sendOptIn: Type.Optional(
      Type.Boolean({ description: 'true: re-send the opt-in mail when the subscriber ends up as 2/1' }),
    ),
  },
  { description: 'Changes only the fields it sends; null clears a field.' },
);
const SubscriberRegister = Type.Object(
  {
    ...writableProperties,
    channelId: Type.Optional(Type.Integer({ description: 'The channel signed up for; its opt-in mailing is sent' })),
    reference: Type.Optional(
      NullableOf('string', {
        maxLength: TEXT_FIELDS.reference.max,
        description: 'Where the signup came from (a form, a campaign)',
      }),
    ),
  },
  {
    description:
      'Upsert by email, always double opt-in. status, statusAddition and sendOptIn are ignored; channels and ' +
      'channelId are added, never removed.',
  },
);
const SubscriberBulk = Type.Union(
  [
    Type.Object({
      subscribers: Type.Array(SubscriberCreate, {
        description: `At most ${subscribers.MAX_BULK_ITEMS}; more is a 413`,
      }),
    }),
    Type.Array(SubscriberCreate, { description: 'A bare array is accepted too' }),
  ],
  {
    description:
      'Upsert by email. Each item is judged on its own; items repeating an email are applied in order (the later ' +
      'value wins).',
  },
);
const UnsubscribeBody = Type.Object({
  channelId: Type.Optional(Type.Integer({ minimum: 1, description: 'Only from this channel; without it, from all' })),
});

const SubscriberGroupSchema = Type.Object({
  objectType: Type.Literal('SubscriberGroup'),
  id: Type.Integer(),
  name: Type.String(),
  type: Type.Integer({ description: '1 static, 2 dynamic, 3 external' }),
  conditions: Type.Unknown({ description: 'The search grammar of a dynamic group, else null' }),
  canEdit: Type.Boolean(),
  canDelete: Type.Boolean(),
  canAssignSubscribers: Type.Boolean(),
  subscriberCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const Nullable = (schema: TSchema) => Type.Union([schema, Type.Null()]);
const SubscriberSchema = Type.Object({
  objectType: Type.Literal('Subscriber'),
  id: Type.Integer(),
  email: Type.String(),
  status: Type.Integer(),
  statusAddition: Nullable(Type.Integer()),
  genderId: Nullable(Type.Integer()),
  languageIso: Nullable(Type.String()),
  ...Object.fromEntries(Object.keys(TEXT_FIELDS).map((k) => [k, Nullable(Type.String())])),
  birthday: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
  optInSent: Type.Boolean({ description: 'Whether an opt-in mail was sent (a boolean, as in the seed’s example)' }),
  optInSentAt: Nullable(Type.String({ description: 'When the last opt-in mail was sent, YYYY-MM-DD HH:MM:SS (UTC)' })),
  optInConfirmedAt: Nullable(Timestamp),
  optInIp: Nullable(Type.String()),
  customerFields: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Every subscriber field of the account by id; null when unset',
  }),
  channels: Type.Union([Type.Array(Type.Integer()), Type.Object({ data: Type.Array(ChannelSchema) })], {
    description: 'Channel ids; with include=channels, {data:[Channel]}',
  }),
  subscriberGroups: Type.Optional(
    Type.Object({ data: Type.Array(SubscriberGroupSchema) }, { description: 'With include=subscriberGroups' }),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const includeDescription =
  `Comma-separated: subscriberGroups (adds subscriberGroups:{data:[SubscriberGroup]}, the ` +
  `static and external groups it belongs to), channels (channels becomes {data:[Channel]} instead of ids)`;
const searchDescription = `URL-encoded JSON array (see the grammar). Filterable: ${Object.keys(SUBSCRIBER_SEARCH)
  .map((k) => (k === 'customerFields.*' ? 'customerFields.<id>' : k))
  .join(', ')}`;
const SubscriberListQuery = Type.Object({
  page: Type.Optional(Type.String({ description: '1-based page, default 1' })),
  limit: Type.Optional(Type.String({ description: 'Items per page, default 10, at most 1000' })),
  search: Type.Optional(Type.String({ description: searchDescription })),
  sorting: Type.Optional(
    Type.String({
      description:
        `URL-encoded JSON array of {"field":"asc"|"desc"}; default id asc. Sortable: ` + SUBSCRIBER_SORTABLE.join(', '),
    }),
  ),
  include: Type.Optional(Type.String({ description: includeDescription })),
});
const IncludeQuery = Type.Object({ include: Type.Optional(Type.String({ description: includeDescription })) });
const ExportQuery = Type.Object({
  format: Type.Optional(Type.String({ description: 'csv (default) or ndjson' })),
  search: Type.Optional(Type.String({ description: searchDescription })),
  sorting: Type.Optional(Type.String({ description: 'As for the list' })),
});

const BulkResult = Type.Object({
  data: Type.Array(
    Type.Object({
      index: Type.Integer({ description: 'Position in the request' }),
      id: Nullable(Type.Integer()),
      status: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('error')]),
      errors: Type.Unknown({ description: '{field: [messages]} for an error, else []' }),
    }),
  ),
  meta: Type.Object({ created: Type.Integer(), updated: Type.Integer(), failed: Type.Integer() }),
});

// ---------------------------------------------------------------------------------------------
// presenting

function presentGroup(g: GroupRecord) {
  const row = g.row;
  let conditions: unknown = null;
  if (row.type === 2 && row.conditions) {
    try {
      conditions = JSON.parse(row.conditions);
    } catch {
      conditions = null;
    }
  }
  return {
    objectType: 'SubscriberGroup',
    id: Number(row.id),
    name: row.name,
    type: row.type,
    conditions,
    canEdit: row.can_edit === 1,
    canDelete: row.can_delete === 1,
    canAssignSubscribers: row.can_assign_subscribers === 1,
    subscriberCount: g.subscriberCount,
    createdAt: formatDate(row.created_at),
    updatedAt: formatDate(row.updated_at),
  };
}

export function presentSubscriber(r: SubscriberRecord) {
  const s = r.row;
  const out: Record<string, unknown> = {
    id: Number(s.id),
    email: s.email,
    status: s.status,
    statusAddition: s.status_addition,
    genderId: s.gender_id,
    languageIso: s.language_iso,
    title: s.title,
    firstname: s.firstname,
    lastname: s.lastname,
    company: s.company,
    street: s.street,
    postcode: s.postcode,
    city: s.city,
    phoneNumber: s.phone_number,
    birthday: s.birthday,
    optInComment: s.opt_in_comment,
    optInSent: s.opt_in_sent_at !== null,
    optInSentAt: formatDate(s.opt_in_sent_at),
    optInConfirmedAt: formatDate(s.opt_in_confirmed_at),
    optInIp: s.opt_in_ip,
    reference: s.reference,
    customerFields: r.customerFields,
    channels: r.channelRows
      ? { data: r.channelRows.map((c) => ({ objectType: 'Channel', ...presentChannel(c) })) }
      : r.channels,
    createdAt: formatDate(s.created_at),
    updatedAt: formatDate(s.updated_at),
  };
  if (r.groups) out.subscriberGroups = { data: r.groups.map(presentGroup) };
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers

// Query strings and path ids keep the shared (coercing) compiler; bodies pass through to the
// domain validator, which reports every field (see the header comment).
const bodyByDomainValidator: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route);

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SubscriberValidationError({ body: ['The body must be a JSON object.'] });
  return body as Record<string, unknown>;
}

/** Sends every field error of a write; other errors go to the server's error handler. */
async function reportingAllFields<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SubscriberValidationError)
      return sendMarketingError(reply, 1002, { errors: error.fieldErrors });
    throw error;
  }
}

function bulkItems(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (typeof body === 'object' && body !== null && Array.isArray((body as { subscribers?: unknown }).subscribers))
    return (body as { subscribers: unknown[] }).subscribers;
  throw new SubscriberValidationError({
    subscribers: ['The body must be {"subscribers":[…]} or an array of subscribers.'],
  });
}

// ---------------------------------------------------------------------------------------------
// routes

export function registerSubscriberRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'subscribers' as const };
  const tags = ['Subscribers'];
  const caller = (request: { apiKey: { accountId: string; permissions: readonly string[] } }) => ({
    accountId: request.apiKey.accountId,
    permissions: request.apiKey.permissions,
  });
  const subscriberId = (params: unknown) => parseId((params as Static<typeof IdParam>).id, 'Subscriber');

  app.get(
    '/api/v1/subscribers',
    {
      config,
      schema: {
        tags,
        summary: 'List subscribers (search, sorting, pagination, include)',
        querystring: SubscriberListQuery,
        response: { 200: ListOf(SubscriberSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof SubscriberListQuery>;
      const page = await subscribers.listSubscribers(ctx, request.apiKey.accountId, q);
      return listReply(request, ctx, 'Subscriber', page, presentSubscriber);
    },
  );

  app.post(
    '/api/v1/subscribers',
    {
      config,
      validatorCompiler: bodyByDomainValidator,
      schema: {
        tags,
        summary: 'Create a subscriber (409 when the email exists)',
        body: SubscriberCreate,
        response: { 201: OneOf(SubscriberSchema), ...marketingErrors(400, 401, 403, 409, 415, 422, 423) },
      },
    },
    async (request, reply) =>
      reportingAllFields(reply, async () => {
        const record = await subscribers.createSubscriber(ctx, caller(request), objectBody(request.body));
        return reply.code(201).send(one('Subscriber', presentSubscriber(record)));
      }),
  );

  app.post(
    '/api/v1/subscribers/register',
    {
      config,
      validatorCompiler: bodyByDomainValidator,
      schema: {
        tags,
        summary: 'Signup from a web form: upsert by email with double opt-in (201 created, 200 updated)',
        body: SubscriberRegister,
        response: {
          200: OneOf(SubscriberSchema),
          201: OneOf(SubscriberSchema),
          ...marketingErrors(400, 401, 403, 415, 422, 423),
        },
      },
    },
    async (request, reply) =>
      reportingAllFields(reply, async () => {
        const { record, created } = await subscribers.registerSubscriber(
          ctx,
          caller(request),
          objectBody(request.body),
        );
        return reply.code(created ? 201 : 200).send(one('Subscriber', presentSubscriber(record)));
      }),
  );

  app.post(
    '/api/v1/subscribers/bulk',
    {
      config,
      validatorCompiler: bodyByDomainValidator,
      schema: {
        tags,
        summary: `Upsert up to ${subscribers.MAX_BULK_ITEMS} subscribers by email; one result per item`,
        description:
          'One transaction per request. Results are {index, id, status: "created"|"updated"|"error", errors}; an ' +
          'invalid item never rejects the others. ' +
          'Items repeating an email are applied in order, as if sent one after the other. sendOptIn applies to new ' +
          'subscribers. More than 1,000 items is a 413.',
        body: SubscriberBulk,
        response: { 200: BulkResult, ...marketingErrors(400, 401, 403, 413, 415, 422) },
      },
    },
    async (request, reply) =>
      reportingAllFields(reply, async () => {
        const results = await subscribers.bulkUpsertSubscribers(ctx, caller(request), bulkItems(request.body));
        const count = (status: string) => results.filter((r) => r.status === status).length;
        return {
          data: results,
          meta: { created: count('created'), updated: count('updated'), failed: count('error') },
        };
      }),
  );

  app.get(
    '/api/v1/subscribers/export',
    {
      config,
      schema: {
        tags,
        summary: 'Export the filtered list as CSV or NDJSON (streamed)',
        description:
          'CSV: a header row, RFC 4180 quoting, channels joined with ";", custom fields available for export as ' +
          'columns customerFields.<id>; cells a spreadsheet would run as a formula start with an apostrophe. ' +
          'NDJSON: one Subscriber object per line.',
        querystring: ExportQuery,
        response: {
          200: { description: 'text/csv or application/x-ndjson', type: 'string' },
          ...marketingErrors(401, 403, 422),
        },
      },
    },
    async (request, reply) => {
      const q = request.query as Static<typeof ExportQuery>;
      const format = q.format === undefined || q.format === '' ? 'csv' : q.format;
      if (format !== 'csv' && format !== 'ndjson')
        throw new ServiceError('invalid', 'The format must be csv or ndjson.', 'format');
      const exported = await subscribers.exportSubscribers(ctx, request.apiKey.accountId, q);
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv') yield csvLine(subscriberCsvHeader(exported.fieldIds));
        for await (const page of exported.pages) {
          let chunk = '';
          for (const record of page) {
            const subscriber = presentSubscriber(record);
            chunk +=
              format === 'csv'
                ? csvLine(subscriberCsvCells(subscriber, exported.fieldIds))
                : JSON.stringify({ objectType: 'Subscriber', ...subscriber }) + '\n';
          }
          yield chunk;
        }
      }
      void reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="subscribers.${format}"`);
      return reply.send(Readable.from(lines()));
    },
  );

  app.get(
    '/api/v1/subscribers/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a subscriber',
        params: IdParam,
        querystring: IncludeQuery,
        response: { 200: OneOf(SubscriberSchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const id = subscriberId(request.params);
      const includes = subscribers.parseIncludes((request.query as Static<typeof IncludeQuery>).include);
      return one(
        'Subscriber',
        presentSubscriber(await subscribers.getSubscriber(ctx, request.apiKey.accountId, id, includes)),
      );
    },
  );

  app.put(
    '/api/v1/subscribers/:id',
    {
      config,
      validatorCompiler: bodyByDomainValidator,
      schema: {
        tags,
        summary: 'Change the fields sent',
        params: IdParam,
        body: SubscriberUpdate,
        response: { 200: OneOf(SubscriberSchema), ...marketingErrors(400, 401, 403, 404, 409, 415, 422, 423) },
      },
    },
    async (request, reply) =>
      reportingAllFields(reply, async () => {
        const id = subscriberId(request.params);
        return one(
          'Subscriber',
          presentSubscriber(await subscribers.updateSubscriber(ctx, caller(request), id, objectBody(request.body))),
        );
      }),
  );

  app.delete(
    '/api/v1/subscribers/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Erase a subscriber’s personal data (204)',
        description:
          'Email and personal fields are removed with its custom values, channels and group memberships; an ' +
          'anonymous record stays for statistics. The subscriber is 404 afterwards.',
        params: IdParam,
        response: { 204: Type.Null({ description: 'Erased' }), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await subscribers.deleteSubscriber(ctx, request.apiKey.accountId, subscriberId(request.params));
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/subscribers/:id/unsubscribe',
    {
      config,
      schema: {
        tags,
        summary: 'Unsubscribe from one channel or from all',
        description:
          'Without a channel left (or without channelId) the subscriber is archived as unsubscribed (3/2); an ' +
          'already archived subscriber keeps its reason.',
        params: IdParam,
        body: UnsubscribeBody,
        response: { 200: OneOf(SubscriberSchema), ...marketingErrors(400, 401, 403, 404, 415, 422) },
      },
      // The body is optional: a POST without one unsubscribes from all channels.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) =>
      reportingAllFields(reply, async () => {
        const id = subscriberId(request.params);
        const { channelId } = request.body as Static<typeof UnsubscribeBody>;
        return one(
          'Subscriber',
          presentSubscriber(await subscribers.unsubscribeSubscriber(ctx, request.apiKey.accountId, id, channelId)),
        );
      }),
  );

  app.get(
    '/api/v1/subscribers/:id/subscriberGroups',
    {
      config,
      schema: {
        tags,
        summary: 'The static and external groups the subscriber belongs to',
        description:
          'Dynamic groups have no stored members (their conditions are evaluated when a mailing is sent) and are not ' +
          'listed.',
        params: IdParam,
        querystring: PagingQuery,
        response: { 200: ListOf(SubscriberGroupSchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const id = subscriberId(request.params);
      const page = await subscribers.listSubscriberGroups(
        ctx,
        request.apiKey.accountId,
        id,
        request.query as Static<typeof PagingQuery>,
      );
      return listReply(request, ctx, 'SubscriberGroup', page, presentGroup);
    },
  );
}
