// Sub-account routes, exact to Mailtarget's published contract (wisnuekas/mailtarget-sentinel,
// apiconfig-openapi-spec.json: model.SubAccountList, model.GetSubAccountResponse):
// GET/POST /v1/sub-account, GET/PUT /v1/sub-account/{id}. POST answers 200, as the contract has it.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  createSubAccount,
  getSubAccount,
  listSubAccountsOf,
  updateSubAccount,
  type SubAccountDetail,
} from '../../services/sub-accounts.ts';
import type { AccountRow } from '../../services/rows.ts';
import { ApiKeySummary, apiKeySummary } from './api-key-views.ts';
import { Line, errorResponses } from './schemas.ts';

const SubAccountId = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2147483647, description: 'Sub-account ID' }),
});

const Status = Type.String({
  maxLength: 20,
  description: '`Active`, `Suspended` (cannot send) or `Terminated` (final: its keys are revoked); any letter case',
});

const SubAccountSummary = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  status: Type.String(),
  createdAt: Type.Integer({ description: 'Unix milliseconds' }),
});

const DomainLite = Type.Object({
  id: Type.Optional(Type.Integer()),
  domain: Type.String(),
  createdAt: Type.Integer({ description: 'Unix milliseconds' }),
  updatedAt: Type.Integer({ description: 'Unix milliseconds: the last DNS check, else the creation' }),
});

const SubAccountDetailSchema = Type.Object({
  id: Type.Integer(),
  subAccountName: Type.String(),
  status: Type.String(),
  companyId: Type.Integer({ description: 'The parent account' }),
  createdAt: Type.Integer({ description: 'Unix milliseconds' }),
  apiKeys: Type.Array(ApiKeySummary, {
    description: "The sub-account's keys; right after POST with createApiKey, the new key whole (shown once)",
  }),
  domains: Type.Array(DomainLite, { description: "The sub-account's own sending domains" }),
});

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
  search: Type.Optional(Type.String({ maxLength: 255, description: 'Part of the name' })),
  status: Type.Optional(Type.String({ maxLength: 20, description: 'Only this status; empty: all' })),
  hasApiKey: Type.Optional(Type.Boolean({ description: 'true: only sub-accounts with a key; false: all' })),
});

const CreateBody = Type.Object(
  {
    name: Line({ maxLength: 255 }),
    status: Type.Optional(Status),
    createApiKey: Type.Optional(Type.Boolean({ description: 'Also make its first API key' })),
    apiKeyName: Type.Optional(Line({ maxLength: 255, description: 'Default: "<name> key"' })),
    permissionIds: Type.Optional(
      Type.Array(Type.Union([Type.Integer(), Type.String({ maxLength: 100 })]), {
        maxItems: 100,
        description: "The new key's permissions (default: those of the key that makes it)",
      }),
    ),
    permissionType: Type.Optional(Type.String({ maxLength: 20, description: '`all` or `custom`' })),
    allowedIps: Type.Optional(Type.String({ maxLength: 10000, description: "The new key's IPs, comma-separated" })),
    ipPoolId: Type.Optional(Type.Integer({ description: 'Accepted and ignored: Posthorn has no IP pools' })),
  },
  { description: 'Unknown fields are ignored.' },
);

const UpdateBody = Type.Object(
  {
    name: Type.Optional(Line({ maxLength: 255 })),
    status: Type.Optional(Status),
    ipPoolId: Type.Optional(Type.Integer({ description: 'Accepted and ignored: Posthorn has no IP pools' })),
  },
  { description: 'Only the fields given (and not empty) change. A terminated sub-account cannot change.' },
);

const summary = (a: AccountRow) => ({ id: a.int_id, name: a.name, status: a.status, createdAt: a.created_at });

function detail(d: SubAccountDetail) {
  return {
    id: d.account.int_id,
    subAccountName: d.account.name,
    status: d.account.status,
    companyId: d.parent.int_id,
    createdAt: d.account.created_at,
    apiKeys: d.keys.map((k) => apiKeySummary(k, k.int_id === d.newKey?.intId ? d.newKey.key : undefined)),
    // Domain ids are integers once sending domains are numbered; until then the id is left out.
    domains: d.domains.map((dom) => ({
      ...(Number.isInteger(Number(dom.id)) ? { id: Number(dom.id) } : {}),
      domain: dom.domain,
      createdAt: dom.createdAt,
      updatedAt: dom.updatedAt,
    })),
  };
}

export function registerSubAccountRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'sub_accounts' as const };
  const tags = ['Sub Accounts'];
  const who =
    "A sub-account's key (or X-MT-ATTR) cannot manage sub-accounts (403, 1301): sub-accounts have none of their own.";

  app.get(
    '/v1/sub-account',
    {
      config,
      schema: {
        tags,
        summary: 'List sub-accounts, in id order',
        description: who,
        querystring: ListQuery,
        response: {
          200: Type.Object({ count: Type.Integer(), subAccounts: Type.Array(SubAccountSummary) }),
          ...errorResponses(401, 403, 422),
        },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      const { count, rows } = await listSubAccountsOf(ctx, request.apiKey, {
        ...q,
        page: q.page ?? 1,
        size: q.size ?? 10,
      });
      return { count, subAccounts: rows.map(summary) };
    },
  );

  app.post(
    '/v1/sub-account',
    {
      config,
      schema: {
        tags,
        summary: 'Create a sub-account (200, as the contract has it), optionally with its first API key',
        description: `${who} The new key cannot have permissions the calling key lacks.`,
        body: CreateBody,
        response: { 200: SubAccountDetailSchema, ...errorResponses(400, 401, 403, 415, 422) },
      },
    },
    async (request) => detail(await createSubAccount(ctx, request.apiKey, request.body as Static<typeof CreateBody>)),
  );

  app.get(
    '/v1/sub-account/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A sub-account with its API keys and sending domains',
        description: who,
        params: SubAccountId,
        response: { 200: SubAccountDetailSchema, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) =>
      detail(await getSubAccount(ctx, request.apiKey, (request.params as Static<typeof SubAccountId>).id)),
  );

  app.put(
    '/v1/sub-account/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Rename a sub-account or change its status (Terminated is final and revokes its keys)',
        description: who,
        params: SubAccountId,
        body: UpdateBody,
        response: { 200: SubAccountDetailSchema, ...errorResponses(400, 401, 403, 404, 415, 422) },
      },
    },
    async (request) =>
      detail(
        await updateSubAccount(
          ctx,
          request.apiKey,
          (request.params as Static<typeof SubAccountId>).id,
          request.body as Static<typeof UpdateBody>,
        ),
      ),
  );
}
