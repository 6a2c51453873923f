// Rate and concurrency limits of the marketing API (per API key) and the brute-force lock (per
// surface and client IP), as the marketing spec states them: X-RateLimit-* and X-ConcurrencyLimit-* on every
// authenticated /api/v1 response, and a 429 with Retry-After and X-RateLimit-Reset and one of two
// fixed bodies when a limit is hit.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.ts';
import { limitsFor, type RateState } from '../services/limits.ts';
import type { Surface } from './surface.ts';

const MARKETING_PREFIX = '/api/v1';

function routeUnder(request: FastifyRequest, prefix: string): boolean {
  const url = request.routeOptions.url ?? request.url;
  return url === prefix || url.startsWith(prefix + '/');
}

export const RATE_LIMIT_BODY = {
  status: 'error',
  code: 429,
  message: 'Too many requests. Please slow down.',
  error: 'RATE_LIMIT_EXCEEDED',
  statusCode: 429,
} as const;

export const concurrentLimitBody = (limit: number) => ({
  status: 'error',
  code: 429,
  message: 'Too many concurrent requests. Please wait for existing requests to complete.',
  error: 'CONCURRENT_LIMIT_EXCEEDED',
  statusCode: 429,
  concurrencyLimit: limit,
  remaining: 0,
});

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function tooMany(
  reply: FastifyReply,
  rate: RateState | null,
  now: number,
  retryAfterMs: number,
  body: object,
): FastifyReply {
  void reply.header('Retry-After', String(seconds(retryAfterMs)));
  // With the minute limit off there is no window; the reset is when the client may retry.
  void reply.header('X-RateLimit-Reset', String(Math.ceil((rate?.resetAt ?? now + retryAfterMs) / 1000)));
  return reply.code(429).type('application/json; charset=utf-8').send(body);
}

/** Counts every authenticated /api/v1 request against its key's limits. Runs after authentication. */
export function registerRateLimits(app: FastifyInstance, ctx: Context): void {
  const limits = limitsFor(ctx);
  app.addHook('onClose', async () => limits.close());
  app.addHook('onRequest', async (request, reply) => {
    if (!request.apiKey || !routeUnder(request, MARKETING_PREFIX)) return;
    const keyId = request.apiKey.id;

    // Both counters at once: every answer, a 429 included, reports both limits.
    const [rate, slot] = await Promise.all([limits.countRequest(keyId), limits.takeSlot(keyId)]);
    if (rate) {
      void reply.header('X-RateLimit-Limit', String(rate.limit));
      void reply.header('X-RateLimit-Remaining', String(rate.remaining));
    }
    if (slot) {
      void reply.header('X-ConcurrencyLimit-Limit', String(slot.limit));
      void reply.header('X-ConcurrencyLimit-Remaining', String(slot.remaining));
    }
    const now = ctx.clock();
    if (rate && !rate.allowed) {
      slot?.release();
      return tooMany(reply, rate, now, rate.resetAt - now, RATE_LIMIT_BODY);
    }
    if (!slot) return;
    if (!slot.ok) return tooMany(reply, rate, now, 1000, concurrentLimitBody(slot.limit));
    // 'close' follows both a finished response and a client that hung up mid-way.
    reply.raw.once('close', () => slot.release());
  });
}

/**
 * The brute-force lock as used by authentication (src/http/auth.ts): each surface counts and
 * locks on its own counter (Surface.bruteForce), so wrong keys on one never lock another.
 */
export function bruteForceLock(ctx: Context) {
  const limits = limitsFor(ctx);
  return {
    /** Answers 429 in the surface's dialect (with Retry-After) when the client IP is locked there; true when it did. */
    async refuseIfLocked(request: FastifyRequest, reply: FastifyReply, surface: Surface): Promise<boolean> {
      if (!surface.bruteForce) return false;
      const remaining = await limits.lockRemaining(surface.bruteForce.counter, request.ip);
      if (remaining <= 0) return false;
      void reply.header('Retry-After', String(seconds(remaining)));
      surface.bruteForce.locked(reply, seconds(remaining));
      return true;
    },
    /** Counts a wrong key from this client IP on the surface. */
    async recordFailure(request: FastifyRequest, surface: Surface): Promise<void> {
      if (surface.bruteForce) await limits.recordAuthFailure(surface.bruteForce.counter, request.ip);
    },
  };
}
