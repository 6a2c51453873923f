// The mail2many-compatible marketing surface under /api/v1. Each area registers its own routes.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../services/context.ts';

export async function registerMarketingRoutes(_app: FastifyInstance, _ctx: Context): Promise<void> {}
