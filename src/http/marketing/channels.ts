// Channel routes: GET/POST /api/v1/channels, GET/PUT/DELETE /api/v1/channels/{id}.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as channels from '../../services/channels.ts';
import { parseId, parsePagingParams } from '../../services/marketing-params.ts';
import type { ChannelRow } from '../../services/rows.ts';
import { formatDate, one } from './envelope.ts';
import {
  IdParam,
  ListOf,
  Nullable,
  OneOf,
  PagingQuery,
  Timestamp,
  listReply,
  marketingErrors,
} from './common-schemas.ts';

const Name = Type.String({ minLength: 1, maxLength: 255 });
const OptionalText = (maxLength: number, description: string) =>
  Type.Optional(Nullable(Type.String({ maxLength, description })));

const ChannelFields = {
  senderName: OptionalText(255, 'Shown as the sender of the channel’s mailings'),
  senderEmail: OptionalText(254, 'A valid email address'),
  replyTo: OptionalText(254, 'A valid email address'),
  languageIso: Type.Optional(
    Type.String({ maxLength: 8, description: "One of the account's languages (GET /languages); default de" }),
  ),
  color: OptionalText(7, 'Hex colour of the public pages, #rgb or #rrggbb'),
  optInMailingId: Type.Optional(
    Nullable(
      Type.Integer({
        description:
          'A mailing of type optIn sent to confirm a signup to this channel; it must contain ' +
          '{{ confirmUrl }} and may use {{ unsubscribeUrl }}, {{ channelName }}, {{ firstname }}, ' +
          '{{ lastname }}, {{ email }}. null: the built-in mail.',
      }),
    ),
  ),
  optOutMailingId: Type.Optional(
    Nullable(
      Type.Integer({
        description:
          'A mailing of type optOut sent as a goodbye when somebody unsubscribes from this ' +
          'channel (link, one-click or the API); ' +
          'null (the default): no goodbye mail.',
      }),
    ),
  ),
};

const ChannelCreate = Type.Object(
  { name: Name, ...ChannelFields },
  { description: 'Unknown fields are ignored; null or "" clears an optional field.' },
);
const ChannelUpdate = Type.Object(
  { name: Type.Optional(Name), ...ChannelFields },
  { description: 'Changes only the fields it sends.' },
);

export const ChannelSchema = Type.Object({
  objectType: Type.Literal('Channel'),
  id: Type.Integer(),
  name: Type.String(),
  senderName: Nullable(Type.String()),
  senderEmail: Nullable(Type.String()),
  replyTo: Nullable(Type.String()),
  languageIso: Type.String(),
  color: Nullable(Type.String()),
  optInMailingId: Nullable(Type.Integer({ description: 'null: the built-in opt-in mail' })),
  optOutMailingId: Nullable(Type.Integer({ description: 'null: no goodbye mail' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export function presentChannel(row: ChannelRow) {
  return {
    id: Number(row.id),
    name: row.name,
    senderName: row.sender_name,
    senderEmail: row.sender_email,
    replyTo: row.reply_to,
    languageIso: row.language_iso,
    color: row.color,
    optInMailingId: row.opt_in_mailing_id == null ? null : Number(row.opt_in_mailing_id),
    optOutMailingId: row.opt_out_mailing_id == null ? null : Number(row.opt_out_mailing_id),
    createdAt: formatDate(row.created_at),
    updatedAt: formatDate(row.updated_at),
  };
}

export function registerChannelRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'subscribers' as const };
  const tags = ['Channels'];
  const channelId = (params: unknown) => parseId((params as Static<typeof IdParam>).id, 'Channel');

  app.get(
    '/api/v1/channels',
    {
      config,
      schema: {
        tags,
        summary: 'List channels in id order',
        querystring: PagingQuery,
        response: { 200: ListOf(ChannelSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    async (request) => {
      const page = await channels.listChannels(
        ctx,
        request.apiKey.accountId,
        parsePagingParams(request.query as Static<typeof PagingQuery>),
      );
      return listReply(request, ctx, 'Channel', page, presentChannel);
    },
  );

  app.post(
    '/api/v1/channels',
    {
      config,
      schema: {
        tags,
        summary: 'Create a channel',
        body: ChannelCreate,
        response: { 201: OneOf(ChannelSchema), ...marketingErrors(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const row = await channels.createChannel(
        ctx,
        request.apiKey.accountId,
        request.body as Static<typeof ChannelCreate>,
      );
      return reply.code(201).send(one('Channel', presentChannel(row)));
    },
  );

  app.get(
    '/api/v1/channels/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a channel',
        params: IdParam,
        response: { 200: OneOf(ChannelSchema), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request) =>
      one(
        'Channel',
        presentChannel(await channels.getChannel(ctx, request.apiKey.accountId, channelId(request.params))),
      ),
  );

  app.put(
    '/api/v1/channels/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a channel (only the fields sent)',
        params: IdParam,
        body: ChannelUpdate,
        response: { 200: OneOf(ChannelSchema), ...marketingErrors(400, 401, 403, 404, 415, 422) },
      },
    },
    async (request) => {
      const row = await channels.updateChannel(
        ctx,
        request.apiKey.accountId,
        channelId(request.params),
        request.body as Static<typeof ChannelUpdate>,
      );
      return one('Channel', presentChannel(row));
    },
  );

  app.delete(
    '/api/v1/channels/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a channel and every subscription to it (the subscribers stay)',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await channels.deleteChannel(ctx, request.apiKey.accountId, channelId(request.params));
      return reply.code(204).send();
    },
  );
}
