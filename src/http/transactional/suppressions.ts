// Suppression routes: GET /v1/suppression/list (Mailtarget's contract, apiconfig-openapi-spec.json:
// `{count, data:[{email, type, reason, createdAt}]}` with createdAt an integer, Unix milliseconds),
// and Posthorn's extensions POST /v1/suppressions, GET /v1/suppressions/lookup and
// DELETE /v1/suppressions/:id, which keep string ids and ISO-8601 times like the other extensions.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as suppressions from '../../services/suppressions.ts';
import type { SuppressionView } from '../../services/suppressions.ts';
import { SUPPRESSION_TYPES } from '../../domain/suppression-policy.ts';
import { IdParam, Paging, errorResponses } from './schemas.ts';

const TYPES = SUPPRESSION_TYPES.join(', ');
const TypeText = (description: string) => Type.String({ maxLength: 32, description });

const ListQuery = Type.Intersect([
  Paging,
  Type.Object({
    type: Type.Optional(TypeText(`Only entries of this type: ${TYPES}`)),
    email: Type.Optional(Type.String({ maxLength: 254, description: 'Only the entry of this address (exact match)' })),
  }),
]);

const ListItem = Type.Object({
  email: Type.String(),
  type: Type.String({ description: TYPES }),
  reason: Type.String(),
  createdAt: Type.Integer({ description: 'Unix milliseconds (the contract type)' }),
  id: Type.String({ description: 'Posthorn extension: the id DELETE /v1/suppressions/{id} takes' }),
});
const List = Type.Object({ count: Type.Integer(), data: Type.Array(ListItem) });

const Entry = Type.Object({
  id: Type.String(),
  email: Type.String(),
  type: Type.String({ description: TYPES }),
  reason: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  blocksTransactional: Type.Boolean({
    description: 'false for unsubscribe entries: they hold back marketing mail only, transactional mail is delivered',
  }),
});

const CreateBody = Type.Object(
  {
    email: Type.String({ maxLength: 254 }),
    type: Type.Optional(TypeText(`${TYPES}; default manual`)),
    reason: Type.Optional(Type.String({ maxLength: suppressions.REASON_MAX_LENGTH })),
  },
  {
    description:
      'Idempotent: an address already on the list answers its entry (200) instead of a new one (201). An unsubscribe ' +
      'entry widens to the given type when that type holds back all mail. The subscriber with the address is ' +
      'archived (status 3). Unknown fields are ignored.',
  },
);

const LookupQuery = Type.Object({ email: Type.String({ maxLength: 254 }) });
const Lookup = Type.Object({
  email: Type.String(),
  suppressed: Type.Boolean(),
  suppression: Type.Union([Entry, Type.Null()]),
});
const Deleted = Type.Object({ message: Type.String(), id: Type.String() });

const iso = (ms: number) => new Date(ms).toISOString();
const presentEntry = (e: SuppressionView) => ({ ...e, createdAt: iso(e.createdAt) });

export function registerSuppressionRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'suppressions' as const };
  const tags = ['Suppression'];

  app.get(
    '/v1/suppression/list',
    {
      config,
      schema: {
        tags,
        summary: 'The suppression list, newest first',
        description:
          'Addresses Posthorn does not send to: hard bounces and repeated soft bounces (`bounce`), spam complaints ' +
          '(`spam_complaint`), unsubscribes (`unsubscribe`, marketing mail only) and entries added by hand ' +
          '(`manual`). Paged with page and size; filtered by type and email.',
        querystring: ListQuery,
        response: { 200: List, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      const size = q.size ?? 10;
      const { total, rows } = await suppressions.listSuppressions(
        ctx,
        request.apiKey.accountId,
        { type: q.type, email: q.email },
        q.page ?? 1,
        size,
      );
      return {
        count: total,
        data: rows.map(({ id, email, type, reason, createdAt }) => ({ email, type, reason, createdAt, id })),
      };
    },
  );

  app.get(
    '/v1/suppressions/lookup',
    {
      config,
      schema: {
        tags,
        summary: 'Whether an address is on the suppression list, with its entry (Posthorn extension)',
        querystring: LookupQuery,
        response: { 200: Lookup, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const { email } = request.query as Static<typeof LookupQuery>;
      const found = await suppressions.lookupSuppression(ctx, request.apiKey.accountId, email);
      return {
        email: found.email,
        suppressed: found.entry !== null,
        suppression: found.entry ? presentEntry(found.entry) : null,
      };
    },
  );

  app.post(
    '/v1/suppressions',
    {
      config,
      schema: {
        tags,
        summary: 'Add an address to the suppression list (idempotent; Posthorn extension)',
        body: CreateBody,
        response: { 200: Entry, 201: Entry, ...errorResponses(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const { entry, created } = await suppressions.createSuppression(
        ctx,
        request.apiKey.accountId,
        request.body as Static<typeof CreateBody>,
      );
      return reply.code(created ? 201 : 200).send(presentEntry(entry));
    },
  );

  app.delete(
    '/v1/suppressions/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Remove an entry (Posthorn extension); the subscriber with the address stays archived',
        params: IdParam,
        response: { 200: Deleted, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      await suppressions.deleteSuppression(ctx, request.apiKey.accountId, id);
      return { message: 'Suppression deleted', id };
    },
  );
}
