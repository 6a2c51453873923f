// Idempotency-Key on every POST of /api/v1 (see src/services/idempotent-requests.ts): a route
// hook documents the header on each POST, preHandler reserves the key or answers from the store,
// onSend records the answer. Routes that keep their own key inside their transaction (the trigger
// send) say so with `config.idempotency: 'own'` and are left alone.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  completeIdempotentRequest,
  reserveIdempotencyKey,
  type IdempotentRequest,
} from '../../services/idempotent-requests.ts';
import { sendMarketingError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotent?: IdempotentRequest;
  }
  interface FastifyContextConfig {
    /** 'own': the route handles Idempotency-Key itself. */
    idempotency?: 'own';
  }
}

const PREFIX = '/api/v1/';
export const IdempotencyKeyHeader = Type.String({
  minLength: 1,
  maxLength: 256,
  description:
    'At most 256 characters. The same key with the same request within 24 h answers ' +
    'the first (successful) answer again, with ' +
    'Idempotent-Replayed: true, without doing it twice; another request under the ' +
    'key, or a retry while the first runs, is a 409 ' +
    '(1024). An error answer is not kept. For a CSV upload the key alone names the request.',
});

const applies = (request: FastifyRequest) =>
  request.method === 'POST' &&
  request.url.startsWith(PREFIX) &&
  request.routeOptions.config?.permission !== undefined &&
  request.routeOptions.config.idempotency !== 'own';

export function registerMarketingIdempotency(app: FastifyInstance, ctx: Context): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || !route.url.startsWith(PREFIX) || !route.schema || route.schema.headers) return;
    route.schema.headers = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKeyHeader) });
  });

  app.addHook('preHandler', async (request, reply) => {
    if (!applies(request)) return;
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || !request.apiKey) return;
    const idempotent: IdempotentRequest = {
      accountId: request.apiKey.accountId,
      key,
      method: request.method,
      url: request.url,
      body: request.body,
    };
    const reservation = await reserveIdempotencyKey(ctx, idempotent);
    switch (reservation.kind) {
      case 'reserved':
        request.idempotent = idempotent;
        return;
      case 'replay':
        return reply
          .code(reservation.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(reservation.body);
      case 'conflict':
        return sendMarketingError(reply, 1024, {
          message: 'The Idempotency-Key was already used with a different request.',
        });
      case 'in_progress':
        return sendMarketingError(reply, 1024, {
          message: 'A request with this Idempotency-Key is still being processed; retry later.',
        });
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const idempotent = request.idempotent;
    if (!idempotent) return payload;
    request.idempotent = undefined;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    await completeIdempotentRequest(ctx, idempotent, reply.statusCode, body);
    return payload;
  });
}
