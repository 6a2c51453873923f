// Requests per API key on the transactional surface (/v1): per second and per minute, from the
// configuration, counted in the limit store (Redis when REDIS_URL is set, so every node counts
// against the same limits). Beyond a limit: 429 with code 1429 and Retry-After (seconds until the
// window that refused the request ends).
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { limitsFor } from '../../services/limits.ts';
import { sendError } from './errors.ts';

const PREFIX = '/v1/';

/** Runs after authentication (it needs the key), so it must be registered after registerAuth. */
export function registerTransactionalRateLimit(app: FastifyInstance, ctx: Context): void {
  const limits = limitsFor(ctx);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.apiKey || !(request.routeOptions.url ?? '').startsWith(PREFIX)) return;
    const rate = await limits.countTransactionalRequest(request.apiKey.id);
    if (!rate || rate.allowed) return;
    const seconds = Math.max(1, Math.ceil(rate.retryAfterMs / 1000));
    void reply.header('Retry-After', String(seconds));
    return sendError(
      reply,
      '1429',
      `this API key may make ${rate.limit} requests per ${rate.unit}; retry after ${seconds} s`,
    );
  });
}
