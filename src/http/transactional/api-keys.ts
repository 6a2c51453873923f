// API key routes, exact to Mailtarget's published contract (wisnuekas/mailtarget-sentinel,
// apiconfig-openapi-spec.json): GET/POST /v1/api-key, GET/PUT/DELETE /v1/api-key/{id}.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { createKey, getKey, listKeys, revokeKey, updateKey } from '../../services/api-key-management.ts';
import { ApiKeyDetail, ApiKeySummary, apiKeyDetail, apiKeySummary } from './api-key-views.ts';
import { Line, errorResponses } from './schemas.ts';

const KeyId = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647, description: 'API key ID' }) });

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
  search: Type.Optional(Type.String({ maxLength: 255, description: 'Part of the name, or the public id of a key' })),
  sort: Type.Optional(
    Type.String({
      maxLength: 40,
      description: '`id`, `name` or `createdAt`, with `:asc` or `:desc` (or a leading `-`); default `createdAt:desc`',
    }),
  ),
  subAccountId: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Only the keys of this sub-account (0: no filter)' }),
  ),
  permissionType: Type.Optional(Type.String({ maxLength: 20, description: '`all` or `custom`; empty: both' })),
});

const PermissionIds = Type.Array(Type.Union([Type.Integer(), Type.String({ maxLength: 100 })]), {
  maxItems: 100,
  description: 'Integer ids from GET /v1/permission (names and slugs are accepted too)',
});
const AllowedIp = Type.Union([Type.String({ maxLength: 10000 }), Type.Array(Type.String({ maxLength: 100 }))], {
  description:
    'IPs and CIDR ranges, comma-separated (or a list); empty: any address ' +
    'on a new key, unchanged on a change; `*`: any address',
});
const PermissionType = Type.String({
  maxLength: 20,
  description: '`all`: every permission; `custom`: the ones in permissionIds',
});
const Environment = Type.String({
  maxLength: 20,
  description: 'Posthorn extension: `production` (default) or `sandbox`; a sandbox key makes sandbox keys only',
});

const CreateBody = Type.Object(
  {
    name: Line({ maxLength: 255, description: 'Describes the key' }),
    permissionIds: Type.Optional(PermissionIds),
    permissionType: Type.Optional(PermissionType),
    allowedIp: Type.Optional(AllowedIp),
    environment: Type.Optional(Environment),
  },
  {
    description:
      'Without permissionIds or permissionType the key gets the permissions of the key that makes it. ' +
      'A key cannot grant a permission it lacks (403, 1301). Unknown fields are ignored.',
  },
);

const UpdateBody = Type.Object(
  {
    name: Type.Optional(Line({ maxLength: 255 })),
    permissionIds: Type.Optional(PermissionIds),
    permissionType: Type.Optional(PermissionType),
    allowedIp: Type.Optional(AllowedIp),
    environment: Type.Optional(Environment),
  },
  { description: 'Only the fields given (and not empty) change; the change holds from the next request on.' },
);

const KeyList = Type.Object({ count: Type.Integer(), apiKeys: Type.Array(ApiKeySummary) });

export function registerApiKeyRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'api_keys' as const };
  const tags = ['API Keys'];
  const scope =
    'Lists the keys of the account the request acts on and of its sub-accounts (X-MT-ATTR: of that sub-account).';

  app.get(
    '/v1/api-key',
    {
      config,
      schema: {
        tags,
        summary: 'List API keys (revoked keys are not listed)',
        description: scope,
        querystring: ListQuery,
        response: { 200: KeyList, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      const { count, rows } = await listKeys(ctx, request.apiKey, { ...q, page: q.page ?? 1, size: q.size ?? 10 });
      return { count, apiKeys: rows.map((r) => apiKeySummary(r)) };
    },
  );

  app.post(
    '/v1/api-key',
    {
      config,
      schema: {
        tags,
        summary: 'Create an API key (201; the answer holds the whole key, shown this once)',
        description: 'The key belongs to the account the request acts on (X-MT-ATTR: that sub-account).',
        body: CreateBody,
        response: { 201: ApiKeyDetail, ...errorResponses(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const { row, key } = await createKey(ctx, request.apiKey, request.body as Static<typeof CreateBody>);
      return reply.code(201).send(apiKeyDetail(row, key));
    },
  );

  app.get(
    '/v1/api-key/:id',
    {
      config,
      schema: {
        tags,
        summary: 'An API key (its secret is never shown again)',
        params: KeyId,
        response: { 200: ApiKeyDetail, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => apiKeyDetail(await getKey(ctx, request.apiKey, (request.params as Static<typeof KeyId>).id)),
  );

  app.put(
    '/v1/api-key/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change an API key: name, permissions, allowed IPs, environment',
        params: KeyId,
        body: UpdateBody,
        response: { 200: ApiKeyDetail, ...errorResponses(400, 401, 403, 404, 415, 422) },
      },
    },
    async (request) =>
      apiKeyDetail(
        await updateKey(
          ctx,
          request.apiKey,
          (request.params as Static<typeof KeyId>).id,
          request.body as Static<typeof UpdateBody>,
        ),
      ),
  );

  app.delete(
    '/v1/api-key/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Revoke an API key: refused from the next request on, on every node and on SMTP; answers true',
        description: 'A key cannot revoke itself (403, 1301): use another key, or `posthorn keys revoke`.',
        params: KeyId,
        response: { 200: Type.Boolean(), ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      await revokeKey(ctx, request.apiKey, (request.params as Static<typeof KeyId>).id);
      return true;
    },
  );
}
