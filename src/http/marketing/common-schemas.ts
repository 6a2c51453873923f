// TypeBox pieces shared by the marketing routes of the account, group, custom field and blacklist
// areas: the error body, list parameters, envelopes and the pagination block.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import type { ListQuery as ListQueryValues, Page } from '../../services/marketing-params.ts';
import { list, pagination } from './envelope.ts';

export const MarketingErrorBody = Type.Object(
  {
    status: Type.Literal('error'),
    code: Type.Integer(),
    message: Type.String(),
    errors: Type.Unknown({ description: '{field: [messages]} or [] when no field is to blame' }),
    statusCode: Type.Integer(),
  },
  { description: 'Error (see the code table)' },
);

export function marketingErrors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, MarketingErrorBody]));
}

const SEARCH_DESCRIPTION =
  'URL-encoded JSON array of objects, e.g. [{"name":{"condition":"like","value":"%news%"}}]; objects are ANDed, ' +
  'arrays of values ORed';

export const PagingQuery = Type.Object({
  page: Type.Optional(Type.String({ description: '1-based page, default 1' })),
  limit: Type.Optional(Type.String({ description: 'Items per page, default 10, at most 1000' })),
});

export const ListQuery = Type.Object({
  page: Type.Optional(Type.String({ description: '1-based page, default 1' })),
  limit: Type.Optional(Type.String({ description: 'Items per page, default 10, at most 1000' })),
  search: Type.Optional(Type.String({ description: SEARCH_DESCRIPTION })),
  sorting: Type.Optional(
    Type.String({ description: 'URL-encoded JSON array of {"field":"asc"|"desc"}; default id asc' }),
  ),
});

export const IdParam = Type.Object({ id: Type.String({ maxLength: 32, description: 'Integer id' }) });

export const Timestamp = Type.String({ description: 'YYYY-MM-DD HH:MM:SS (UTC)' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const PaginationSchema = Type.Object({
  total: Type.Integer(),
  count: Type.Integer(),
  perPage: Type.Integer(),
  currentPage: Type.Integer(),
  totalPages: Type.Integer(),
  links: Type.Object(
    { next: Type.String(), previous: Type.String() },
    { description: 'Full URLs, or "" when there is no such page' },
  ),
});

export const OneOf = <T extends TSchema>(item: T) => Type.Object({ data: item });
export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), meta: Type.Object({ pagination: PaginationSchema }) });

/** The list envelope of one page, each row presented and tagged with objectType. */
export function listReply<R, V extends object>(
  request: FastifyRequest,
  ctx: Context,
  objectType: string,
  page: Page<R>,
  present: (row: R) => V,
) {
  const meta = pagination(
    request,
    ctx.config.publicUrl,
    page.total,
    page.rows.length,
    page.paging.page,
    page.paging.limit,
  );
  return list(objectType, page.rows.map(present), meta);
}

/** The handler of a list route: the service's page of the caller's account, in the list envelope. */
export function listHandler<R, V extends object>(
  ctx: Context,
  objectType: string,
  listPage: (ctx: Context, accountId: string, query: ListQueryValues) => Promise<Page<R>>,
  present: (row: R) => V,
) {
  return async (request: FastifyRequest) =>
    listReply(
      request,
      ctx,
      objectType,
      await listPage(ctx, request.apiKey.accountId, request.query as ListQueryValues),
      present,
    );
}
