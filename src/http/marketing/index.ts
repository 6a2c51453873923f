// The mail2many-compatible marketing surface under /api/v1. Each area registers its own routes.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { registerAccountRoutes } from './account.ts';
import { registerSubscriberGroupRoutes } from './subscriber-groups.ts';
import { registerCustomerFieldRoutes } from './customer-fields.ts';
import { registerBlacklistRoutes } from './blacklist.ts';
import { registerSubscriberRoutes } from './subscribers.ts';
import { registerImportRoutes } from './imports.ts';
import { registerMailingRoutes } from './mailings.ts';
import { registerWebhookRoutes } from './webhooks.ts';
import { registerStatisticsRoutes } from './statistics.ts';
import { registerTriggerTypeRoutes } from './trigger-types.ts';
import { registerRateLimits } from '../limits.ts';
import { registerMarketingIdempotency } from './idempotency.ts';

export async function registerMarketingRoutes(_app: FastifyInstance, _ctx: Context): Promise<void> {
  // First: its route hook documents Idempotency-Key on every POST registered after it.
  registerMarketingIdempotency(_app, _ctx);
  registerAccountRoutes(_app, _ctx);
  registerSubscriberGroupRoutes(_app, _ctx);
  registerCustomerFieldRoutes(_app, _ctx);
  registerBlacklistRoutes(_app, _ctx);
  registerSubscriberRoutes(_app, _ctx);
  registerImportRoutes(_app, _ctx);
  registerMailingRoutes(_app, _ctx);
  registerWebhookRoutes(_app, _ctx);
  registerStatisticsRoutes(_app, _ctx);
  registerTriggerTypeRoutes(_app, _ctx);
  registerRateLimits(_app, _ctx);
}
