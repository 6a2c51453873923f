import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { registerTransmissionRoutes } from './transmissions.ts';
import { registerMessageRoutes } from './messages.ts';
import { registerTemplateRoutes } from './templates.ts';
import { registerDomainRoutes } from './domains.ts';
import { registerAccountRoutes } from './account.ts';
import { registerAnalyticsRoutes } from './analytics.ts';
import { registerWebhookRoutes } from './webhooks.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerSubAccountRoutes } from './sub-accounts.ts';
import { registerTransactionalRateLimit } from './rate-limit.ts';
import { registerSuppressionRoutes } from './suppressions.ts';
import { registerEmptyAsAbsent } from './empty-as-absent.ts';
import { registerInboundRoutes } from './inbound.ts';
import { registerSandboxRecipientRoutes } from './sandbox-recipients.ts';

export async function registerTransactionalRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  registerTransactionalRateLimit(app, ctx);
  registerEmptyAsAbsent(app, '/v1');
  registerTransmissionRoutes(app, ctx);
  registerMessageRoutes(app, ctx);
  registerTemplateRoutes(app, ctx);
  registerDomainRoutes(app, ctx);
  registerAccountRoutes(app, ctx);
  registerAnalyticsRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerApiKeyRoutes(app, ctx);
  registerSubAccountRoutes(app, ctx);
  registerSuppressionRoutes(app, ctx);
  registerInboundRoutes(app, ctx);
  registerSandboxRecipientRoutes(app, ctx);
}
