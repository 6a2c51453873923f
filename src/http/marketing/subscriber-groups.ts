// Subscriber group routes: GET/POST /api/v1/subscriberGroups, GET/PUT/DELETE
// /api/v1/subscriberGroups/{id}, and the members under /api/v1/subscriberGroups/{id}/subscribers.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as groups from '../../services/subscriber-groups.ts';
import * as members from '../../services/subscriber-group-members.ts';
import { parseId, type ListQuery as ListQueryValues } from '../../services/marketing-params.ts';
import { formatDate, one } from './envelope.ts';
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
import { presentSubscriber } from './subscribers.ts';

const Name = Type.String({ minLength: 1, maxLength: 255, description: 'Unique in the account' });
const GroupType = Type.Integer({ enum: [1, 2, 3], description: '1 static, 2 dynamic, 3 external' });
const Conditions = Type.Optional(
  Nullable(
    Type.Union([Type.Array(Type.Unknown()), Type.String()], {
      description:
        'Dynamic groups only (required there): the subscriber search grammar, as the JSON array or a string holding ' +
        'it, e.g. [{"languageIso":"de"},{"lastOpenedAt":{"condition":">=","value":"2024-01-01 00:00:00"}}]',
    }),
  ),
);
const Flag = (what: string) =>
  Type.Optional(
    Type.Boolean({
      description:
        `External groups (type 3): whether dashboard users may ${what} (default true). Always true for ` +
        `static and dynamic groups.`,
    }),
  );

const GroupCreate = Type.Object(
  {
    name: Name,
    type: GroupType,
    conditions: Conditions,
    canEdit: Flag('edit it'),
    canDelete: Flag('delete it'),
    canAssignSubscribers: Flag('assign subscribers'),
  },
  { description: 'Unknown fields are ignored.' },
);
const GroupUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    type: Type.Optional(Type.Integer({ description: 'Cannot change; when sent it must be the current type' })),
    conditions: Conditions,
    canEdit: Flag('edit it'),
    canDelete: Flag('delete it'),
    canAssignSubscribers: Flag('assign subscribers'),
  },
  { description: 'Changes only the fields it sends.' },
);

const GroupSchema = Type.Object({
  objectType: Type.Literal('SubscriberGroup'),
  id: Type.Integer(),
  name: Type.String(),
  type: Type.Integer({ description: '1 static, 2 dynamic, 3 external' }),
  conditions: Nullable(
    Type.Array(Type.Unknown(), { description: 'The search grammar (dynamic groups); null otherwise' }),
  ),
  canEdit: Type.Boolean(),
  canDelete: Type.Boolean(),
  canAssignSubscribers: Type.Boolean(),
  subscriberCount: Type.Integer({
    description: 'Live subscribers in the group now (for dynamic groups: matching the conditions now)',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const MembersBody = Type.Object(
  {
    subscriberIds: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }))),
    emails: Type.Optional(Type.Array(Type.String({ maxLength: 254 }))),
  },
  {
    description:
      'At least one entry and at most 1,000 in all (more is a 413). Unknown ids and emails are reported in the ' +
      'answer, not refused.',
  },
);

const MembershipSchema = Type.Object({
  objectType: Type.Literal('SubscriberGroupMembership'),
  subscriberGroupId: Type.Integer(),
  added: Type.Optional(Type.Integer({ description: 'Subscribers that became members' })),
  alreadyMembers: Type.Optional(Type.Integer({ description: 'Known subscribers that were members already' })),
  removed: Type.Optional(Type.Integer({ description: 'Subscribers that stopped being members' })),
  notMembers: Type.Optional(Type.Integer({ description: 'Known subscribers that were not members' })),
  unknownSubscriberIds: Type.Array(Type.Integer(), { description: 'Ids that name no subscriber of the account' }),
  unknownEmails: Type.Array(Type.String(), { description: 'Emails (as sent) that name no subscriber of the account' }),
  subscriberCount: Type.Integer(),
});

// The same object as GET /subscribers/{id} (presented by the subscriber routes), so not restated here.
const GroupMemberSchema = Type.Object(
  { objectType: Type.Literal('Subscriber') },
  { additionalProperties: true, description: 'A Subscriber, exactly as GET /subscribers/{id} shows it' },
);

const MemberParams = Type.Object({ id: Type.String({ maxLength: 32 }), subscriberId: Type.String({ maxLength: 32 }) });

function presentGroup(view: groups.GroupView) {
  const g = view.row;
  return {
    id: Number(g.id),
    name: g.name,
    type: Number(g.type),
    conditions: g.conditions === null ? null : (JSON.parse(g.conditions) as unknown[]),
    canEdit: g.can_edit === 1,
    canDelete: g.can_delete === 1,
    canAssignSubscribers: g.can_assign_subscribers === 1,
    subscriberCount: view.subscriberCount,
    createdAt: formatDate(g.created_at),
    updatedAt: formatDate(g.updated_at),
  };
}

export function registerSubscriberGroupRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'subscriber_groups' as const };
  const tags = ['Subscriber groups'];
  const groupId = (params: unknown) => parseId((params as Static<typeof IdParam>).id, 'Subscriber group');
  /** Adding and removing members answer alike, each naming its two counts in its own words. */
  const membershipHandler =
    (change: typeof members.addGroupSubscribers, changedAs: string, unchangedAs: string) =>
    async (request: FastifyRequest) => {
      const c = await change(
        ctx,
        request.apiKey.accountId,
        groupId(request.params),
        request.body as Static<typeof MembersBody>,
      );
      return one('SubscriberGroupMembership', {
        subscriberGroupId: c.subscriberGroupId,
        [changedAs]: c.changed,
        [unchangedAs]: c.unchanged,
        unknownSubscriberIds: c.unknownSubscriberIds,
        unknownEmails: c.unknownEmails,
        subscriberCount: c.subscriberCount,
      });
    };

  app.get(
    '/api/v1/subscriberGroups',
    {
      config,
      schema: {
        tags,
        summary: 'List subscriber groups (search: id, name, type, createdAt, updatedAt)',
        querystring: ListQuery,
        response: { 200: ListOf(GroupSchema), ...marketingErrors(401, 403, 422) },
      },
    },
    listHandler(ctx, 'SubscriberGroup', groups.listGroups, presentGroup),
  );

  app.post(
    '/api/v1/subscriberGroups',
    {
      config,
      schema: {
        tags,
        summary: 'Create a subscriber group',
        body: GroupCreate,
        response: { 201: OneOf(GroupSchema), ...marketingErrors(400, 401, 403, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const view = await groups.createGroup(ctx, request.apiKey.accountId, request.body as Static<typeof GroupCreate>);
      return reply.code(201).send(one('SubscriberGroup', presentGroup(view)));
    },
  );

  app.get(
    '/api/v1/subscriberGroups/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Read a subscriber group',
        params: IdParam,
        response: { 200: OneOf(GroupSchema), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request) =>
      one(
        'SubscriberGroup',
        presentGroup(await groups.getGroup(ctx, request.apiKey.accountId, groupId(request.params))),
      ),
  );

  app.put(
    '/api/v1/subscriberGroups/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a subscriber group (only the fields sent)',
        params: IdParam,
        body: GroupUpdate,
        response: { 200: OneOf(GroupSchema), ...marketingErrors(400, 401, 403, 404, 409, 415, 422) },
      },
    },
    async (request) => {
      const view = await groups.updateGroup(
        ctx,
        request.apiKey.accountId,
        groupId(request.params),
        request.body as Static<typeof GroupUpdate>,
      );
      return one('SubscriberGroup', presentGroup(view));
    },
  );

  app.delete(
    '/api/v1/subscriberGroups/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a subscriber group (the subscribers stay)',
        params: IdParam,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await groups.deleteGroup(ctx, request.apiKey.accountId, groupId(request.params));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/subscriberGroups/:id/subscribers',
    {
      config,
      schema: {
        tags,
        summary: "The group's subscribers (search and sorting as GET /subscribers; dynamic groups are evaluated now)",
        params: IdParam,
        querystring: ListQuery,
        response: { 200: ListOf(GroupMemberSchema), ...marketingErrors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const page = await members.listGroupSubscribers(
        ctx,
        request.apiKey.accountId,
        groupId(request.params),
        request.query as ListQueryValues,
      );
      return listReply(request, ctx, 'Subscriber', page, presentSubscriber);
    },
  );

  app.post(
    '/api/v1/subscriberGroups/:id/subscribers',
    {
      config,
      schema: {
        tags,
        summary: 'Add subscribers to a static or external group (a dynamic group is 423)',
        params: IdParam,
        body: MembersBody,
        response: { 200: OneOf(MembershipSchema), ...marketingErrors(400, 401, 403, 404, 413, 415, 422, 423) },
      },
    },
    membershipHandler(members.addGroupSubscribers, 'added', 'alreadyMembers'),
  );

  app.delete(
    '/api/v1/subscriberGroups/:id/subscribers',
    {
      config,
      schema: {
        tags,
        summary: 'Remove many subscribers from a static or external group (body as for adding)',
        params: IdParam,
        body: MembersBody,
        response: { 200: OneOf(MembershipSchema), ...marketingErrors(400, 401, 403, 404, 413, 415, 422, 423) },
      },
    },
    membershipHandler(members.removeGroupSubscribers, 'removed', 'notMembers'),
  );

  app.delete(
    '/api/v1/subscriberGroups/:id/subscribers/:subscriberId',
    {
      config,
      schema: {
        tags,
        summary: 'Remove one subscriber from a static or external group',
        params: MemberParams,
        response: { 204: Type.Null(), ...marketingErrors(401, 403, 404, 423) },
      },
    },
    async (request, reply) => {
      const params = request.params as Static<typeof MemberParams>;
      const subscriberId = parseId(params.subscriberId, 'Subscriber');
      await members.removeGroupSubscriber(ctx, request.apiKey.accountId, groupId(params), subscriberId);
      return reply.code(204).send();
    },
  );
}
