// The account area of the marketing surface: GET /api/v1/whoami, GET /api/v1/languages and the
// channel routes (registered from channels.ts).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { LANGUAGES, accountChannels, whoami } from '../../services/account.ts';
import { parsePagingParams, grammar } from '../../services/marketing-params.ts';
import { parseInclude } from '../../domain/query-grammar.ts';
import { formatDate, one, pagination } from './envelope.ts';
import { ChannelSchema, presentChannel, registerChannelRoutes } from './channels.ts';
import { ListOf, PagingQuery, Timestamp, marketingErrors } from './common-schemas.ts';

const WHOAMI_INCLUDES = ['channels', 'languages'] as const;

const LanguageSchema = Type.Object({ objectType: Type.Literal('Language'), iso: Type.String(), name: Type.String() });

const AccountSchema = Type.Object({
  objectType: Type.Literal('Account'),
  id: Type.Integer({ description: "The account's integer id (the seed's example shows an integer)" }),
  type: Type.Union([Type.Literal('S'), Type.Literal('L')], {
    description: 'L: manages sub-accounts; S: holds subscribers and sends',
  }),
  name: Type.String(),
  createdAt: Timestamp,
  channels: Type.Optional(
    Type.Object({ data: Type.Array(ChannelSchema) }, { description: 'With include=channels (at most 1000)' }),
  ),
  languages: Type.Optional(
    Type.Object({ data: Type.Array(LanguageSchema) }, { description: 'With include=languages' }),
  ),
});

const WhoamiQuery = Type.Object({
  include: Type.Optional(Type.String({ description: `Comma-separated: ${WHOAMI_INCLUDES.join(', ')}` })),
});

const languageObjects = () => LANGUAGES.map((l) => ({ objectType: 'Language' as const, iso: l.iso, name: l.name }));

export function registerAccountRoutes(app: FastifyInstance, ctx: Context): void {
  app.get(
    '/api/v1/whoami',
    {
      config: { permission: 'authenticated' },
      schema: {
        tags: ['Account'],
        summary: 'The account the API key belongs to',
        querystring: WhoamiQuery,
        response: { 200: Type.Object({ data: AccountSchema }), ...marketingErrors(401, 422) },
      },
    },
    async (request) => {
      const { include } = request.query as Static<typeof WhoamiQuery>;
      const includes = grammar(() => parseInclude(include, WHOAMI_INCLUDES));
      const accountId = request.apiKey.accountId;
      const account = await whoami(ctx, accountId);
      const data: Record<string, unknown> = {
        id: account.id,
        type: account.type,
        name: account.name,
        createdAt: formatDate(account.createdAt),
      };
      if (includes.includes('channels')) {
        const rows = await accountChannels(ctx, accountId);
        data.channels = { data: rows.map((r) => ({ objectType: 'Channel', ...presentChannel(r) })) };
      }
      if (includes.includes('languages')) data.languages = { data: languageObjects() };
      return one('Account', data);
    },
  );

  app.get(
    '/api/v1/languages',
    {
      config: { permission: 'authenticated' },
      schema: {
        tags: ['Account'],
        summary: "The account's languages (de and en)",
        querystring: PagingQuery,
        response: { 200: ListOf(LanguageSchema), ...marketingErrors(401, 422) },
      },
    },
    async (request) => {
      const paging = parsePagingParams(request.query as Static<typeof PagingQuery>);
      const all = languageObjects();
      const rows = all.slice(paging.offset, paging.offset + paging.limit);
      return {
        data: rows,
        meta: {
          pagination: pagination(request, ctx.config.publicUrl, all.length, rows.length, paging.page, paging.limit),
        },
      };
    },
  );

  registerChannelRoutes(app, ctx);
}
