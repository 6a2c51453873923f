import type { FastifyInstance } from 'fastify';
import type { Context } from '../../services/context.ts';
import { PERMISSIONS } from '../../domain/permissions.ts';
import { findAccount } from '../../store/accounts.ts';
import { notFound } from '../../services/errors.ts';

export function registerAccountRoutes(app: FastifyInstance, ctx: Context): void {
  app.get(
    '/v1/permission',
    {
      config: { permission: 'api_keys' },
      schema: { tags: ['Account'], summary: 'The permissions an API key can hold' },
    },
    async () => PERMISSIONS.map((p) => ({ id: p.id, name: p.name, detail: p.detail })),
  );
  app.get(
    '/v1/account',
    { config: { permission: 'analytics' }, schema: { tags: ['Account'], summary: 'The account of the calling key' } },
    async (request) => {
      const a = await findAccount(ctx.db, request.apiKey.accountId);
      if (!a) throw notFound('account');
      return {
        id: a.id,
        name: a.name,
        status: a.status,
        parentId: a.parent_id,
        createdAt: new Date(a.created_at).toISOString(),
        apiKey: {
          id: request.apiKey.id,
          name: request.apiKey.name,
          environment: request.apiKey.environment,
          permissions: request.apiKey.permissions,
        },
      };
    },
  );
}
