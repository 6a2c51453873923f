// Authentication for every API route: the key (Bearer, raw or Basic), its IP allow-list, and the
// permission the route declares in its config. Runs before the body is read, so an unauthenticated
// client cannot make us parse a large body.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../services/context.ts';
import { authenticate, type ApiKeyInfo } from '../services/api-keys.ts';
import { keyFromAuthorization } from '../domain/api-key-format.ts';
import { permissionName, type PermissionId } from '../domain/permissions.ts';
import type { Surface } from './surface.ts';
import { bruteForceLock } from './limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyInfo;
  }
  interface FastifyContextConfig {
    /** The permission a route needs ('authenticated': any valid key); routes without one are public. */
    permission?: PermissionId | 'authenticated';
  }
}

export function registerAuth(app: FastifyInstance, ctx: Context, surfaceFor: (url: string) => Surface): void {
  app.decorateRequest('apiKey', null as unknown as ApiKeyInfo);
  const lock = bruteForceLock(ctx);
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const permission = request.routeOptions.config?.permission;
    if (!permission) return;
    const surface = surfaceFor(request.url);
    // A locked client IP is refused before its key is even looked at; a wrong key counts toward the lock.
    if (await lock.refuseIfLocked(request, reply)) return reply;
    const result = await authenticate(ctx, keyFromAuthorization(request.headers.authorization), request.ip);
    if (!result.ok) {
      if (result.reason === 'invalid') await lock.recordFailure(request);
      const detail =
        result.reason === 'missing'
          ? 'an API key is required in the Authorization header'
          : result.reason === 'ip_not_allowed'
            ? `requests from ${request.ip} are not allowed for this API key`
            : 'the API key is invalid or revoked';
      return surface.auth(reply, result.reason, detail);
    }
    if (permission !== 'authenticated' && !result.key.permissions.includes(permission)) {
      return surface.auth(reply, 'permission', `this API key lacks the "${permissionName(permission)}" permission`);
    }
    request.apiKey = result.key;
  });
}
