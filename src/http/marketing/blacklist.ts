// Blacklist routes: GET/POST /api/v1/blacklist, DELETE /api/v1/blacklist/{id}.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as blacklist from '../../services/blacklist.ts';
import { parseId } from '../../services/marketing-params.ts';
import type { BlacklistRow } from '../../services/rows.ts';
import { formatDate, one } from './envelope.ts';
import { IdParam, ListOf, ListQuery, Timestamp, listHandler, marketingErrors } from './common-schemas.ts';

const PatternText = Type.String({
  maxLength: 256,
  description: 'An email address, or *@domain for a whole domain; stored lower-cased',
});
const EntryCreate = Type.Object(
  { pattern: Type.Optional(PatternText), email: Type.Optional({ ...PatternText, description: 'Alias of pattern' }) },
  {
    description:
      'pattern (or its alias email) is required. Matching live subscribers are archived (status 3, statusAddition 3).',
  },
);

const EntrySchema = Type.Object({
  objectType: Type.Literal('Blacklist'),
  id: Type.Integer(),
  pattern: Type.String({ description: 'An email address or *@domain, lower-cased' }),
  createdAt: Timestamp,
});

const Created = Type.Object({
  data: EntrySchema,
  meta: Type.Object({ archivedSubscribers: Type.Integer({ description: 'Subscribers this entry archived' }) }),
});

function presentEntry(row: BlacklistRow) {
  return { id: Number(row.id), pattern: row.pattern, createdAt: formatDate(row.created_at) };
}

export function registerBlacklistRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'subscribers' as const };
  const tags = ['Blacklist'];

  app.get(
    '/api/v1/blacklist',
    {
      config,
      schema: {
        tags,
        summary: 'List blacklist entries (search: pattern with = or like; sorting: id, pattern, createdAt)',
        querystring: ListQuery,
        response: { 200: ListOf(EntrySchema), ...marketingErrors(401, 403, 422) },
      },
    },
    listHandler(ctx, 'Blacklist', blacklist.listBlacklist, presentEntry),
  );

  app.post(
    '/api/v1/blacklist',
    {
      config,
      schema: {
        tags,
        summary: 'Blacklist an address or a domain',
        body: EntryCreate,
        response: { 201: Created, ...marketingErrors(400, 401, 403, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const added = await blacklist.addToBlacklist(
        ctx,
        request.apiKey.accountId,
        request.body as Static<typeof EntryCreate>,
      );
      return reply.code(201).send({
        ...one('Blacklist', presentEntry(added.row)),
        meta: { archivedSubscribers: added.archivedSubscribers },
      });
    },
  );

  app.delete(
    '/api/v1/blacklist/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Remove a blacklist entry (archived subscribers stay archived)',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await blacklist.removeFromBlacklist(
        ctx,
        request.apiKey.accountId,
        parseId((request.params as Static<typeof IdParam>).id, 'Blacklist entry'),
      );
      return reply.code(204).send();
    },
  );
}
