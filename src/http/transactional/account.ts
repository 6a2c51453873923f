// GET /v1/account, GET /v1/account/usage-quota and GET /v1/permission, exact to Mailtarget's
// published contract (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json:
// model.GetAccountInfoResponse, model.GetUsageQuotaResponse, model.Permission). Any valid key may
// read them: a send-only key must be able to see its account and how much it may still send.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { accountOverview, usageQuota, UNLIMITED } from '../../services/account-overview.ts';
import { permissionTypeOf } from '../../domain/permissions.ts';
import { PermissionSchema, allPermissionViews } from './api-key-views.ts';
import { errorResponses } from './schemas.ts';

const AccountInfo = Type.Object({
  companyId: Type.Integer({ description: 'The top-level account (for a sub-account: its parent)' }),
  companyName: Type.String(),
  defaultSendingDomain: Type.String({
    description: 'The oldest verified sending domain, else the oldest one; empty when there is none',
  }),
  plan: Type.String({ description: 'Always `self-hosted`' }),
  status: Type.String({ description: 'Of the account the request acts on: `Active`, `Suspended` or `Terminated`' }),
  timezone: Type.String({ description: 'Always `UTC`: every day boundary in reports is a UTC day' }),
  subAccountId: Type.Optional(
    Type.Integer({ description: 'Posthorn extension: when the request acts on a sub-account, its id' }),
  ),
  subAccountName: Type.Optional(Type.String({ description: 'Posthorn extension' })),
  createdAt: Type.Integer({ description: 'Posthorn extension: Unix milliseconds' }),
  apiKey: Type.Object(
    {
      id: Type.Integer(),
      name: Type.String(),
      environment: Type.String(),
      permissionType: Type.String(),
    },
    { description: 'Posthorn extension: the calling key' },
  ),
});

const unlimited = `${UNLIMITED} (the largest number the contract's JSON allows) when there is no limit`;

const UsageQuota = Type.Object({
  dailyLimit: Type.Integer({ description: `Messages per UTC day (POSTHORN_DAILY_LIMIT); ${unlimited}` }),
  emailsQuota: Type.Integer({ description: `Messages per UTC month (POSTHORN_MONTHLY_LIMIT); ${unlimited}` }),
  emailsRemaining: Type.Integer({ description: `What is left of emailsQuota this month; ${unlimited}` }),
  emailsSent: Type.Integer({ description: 'Messages (recipients) accepted this UTC month' }),
  emailsSentToday: Type.Integer({ description: 'Posthorn extension: messages accepted this UTC day' }),
  maxAttachmentSizeMb: Type.Integer({
    description: 'Attachments travel base64-encoded in the body: three quarters of the body limit',
  }),
  maxRecipientsPerTransmission: Type.Integer(),
  percentUsed: Type.Number({ description: 'emailsSent of emailsQuota in percent (0 without a monthly limit)' }),
  period: Type.String({ description: 'The period of emailsQuota: always `monthly`' }),
  periodStart: Type.String({ description: 'Posthorn extension: the first day (UTC) of the period' }),
  plan: Type.String(),
  rateLimit: Type.Object(
    {
      requestsPerMinute: Type.Integer({ description: `Per API key (POSTHORN_V1_RATE_PER_MINUTE); ${unlimited}` }),
      requestsPerSecond: Type.Integer({ description: `Per API key (POSTHORN_V1_RATE_PER_SECOND); ${unlimited}` }),
    },
    { description: 'Requests to /v1 per API key; beyond them 429 (1429) with Retry-After' },
  ),
});

export function registerAccountRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'authenticated' as const };
  const tags = ['Account'];

  app.get(
    '/v1/permission',
    {
      config,
      schema: {
        tags,
        summary: 'The permissions an API key can hold, with the integer ids POST /v1/api-key takes',
        response: { 200: Type.Array(PermissionSchema), ...errorResponses(401, 403) },
      },
    },
    async () => allPermissionViews(),
  );

  app.get(
    '/v1/account',
    {
      config,
      schema: {
        tags,
        summary: 'The account the request acts on (X-MT-ATTR: that sub-account)',
        response: { 200: AccountInfo, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { account, company, defaultSendingDomain } = await accountOverview(ctx, request.apiKey);
      const key = request.apiKey;
      return {
        companyId: company.int_id,
        companyName: company.name,
        defaultSendingDomain: defaultSendingDomain ?? '',
        plan: 'self-hosted',
        status: account.status,
        timezone: 'UTC',
        ...(account.parent_id ? { subAccountId: account.int_id, subAccountName: account.name } : {}),
        createdAt: account.created_at,
        apiKey: {
          id: key.intId,
          name: key.name,
          environment: key.environment,
          permissionType: permissionTypeOf(key.permissions),
        },
      };
    },
  );

  app.get(
    '/v1/account/usage-quota',
    {
      config,
      schema: {
        tags,
        summary: 'Sending this month and today against the limits; the limits of requests and transmissions',
        response: { 200: UsageQuota, ...errorResponses(401, 403) },
      },
    },
    async (request) => usageQuota(ctx, request.apiKey),
  );
}
