// Authentication for every API route: the key (Bearer, raw or Basic), its IP allow-list, the
// permission the route declares in its config, and the account the request acts on (a parent's
// key may act on one of its sub-accounts with `X-MT-ATTR: <subAccountId>`). Runs before the body
// is read, so an unauthenticated client cannot make us parse a large body.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../context.ts';
import { authenticate, type ApiKeyInfo } from '../services/api-keys.ts';
import { actingAccount } from '../services/sub-accounts.ts';
import { keyFromAuthorization } from '../domain/api-key-format.ts';
import { permissionName, type PermissionId } from '../domain/permissions.ts';
import { ServiceError } from '../services/errors.ts';
import type { Surface } from './surface.ts';
import { bruteForceLock } from './limits.ts';
import { authenticateSession } from '../services/dashboard-sessions.ts';
import { csrfHeader, sessionCookie } from './dashboard/session-cookie.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The key as it acts in this request: `accountId` is the account the request acts on. */
    apiKey: ApiKeyInfo;
  }
  interface FastifyContextConfig {
    /** The permission a route needs ('authenticated': any valid key); routes without one are public. */
    permission?: PermissionId | 'authenticated';
  }
}

export const SUB_ACCOUNT_HEADER = 'x-mt-attr';

export function registerAuth(app: FastifyInstance, ctx: Context, surfaceFor: (url: string) => Surface): void {
  app.decorateRequest('apiKey', null as unknown as ApiKeyInfo);
  const lock = bruteForceLock(ctx);
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const permission = request.routeOptions.config?.permission;
    if (!permission) return;
    const surface = surfaceFor(request.url);
    // A locked client IP is refused before its key is even looked at; a wrong key counts toward the
    // lock of this surface only.
    if (await lock.refuseIfLocked(request, reply, surface)) return reply;
    // Without an Authorization header, the dashboard's session cookie (with its CSRF header) may stand in for a key.
    const session = request.headers.authorization ? null : sessionCookie(request);
    const result = session
      ? await authenticateSession(ctx, session, csrfHeader(request), request.ip)
      : await authenticate(ctx, keyFromAuthorization(request.headers.authorization), request.ip);
    if (!result.ok) {
      if (result.reason === 'invalid' && !session) await lock.recordFailure(request, surface);
      const detail =
        result.reason === 'missing'
          ? 'an API key is required in the Authorization header'
          : result.reason === 'ip_not_allowed'
            ? `requests from ${request.ip} are not allowed for this API key`
            : session
              ? 'the dashboard session has ended, or the request lacks its CSRF token'
              : 'the API key is invalid or revoked';
      return surface.auth(reply, result.reason, detail);
    }
    if (permission !== 'authenticated' && !result.key.permissions.includes(permission)) {
      return surface.auth(reply, 'permission', `this API key lacks the "${permissionName(permission)}" permission`);
    }
    try {
      request.apiKey = await actingAccount(ctx, result.key, headerValue(request.headers[SUB_ACCOUNT_HEADER]), {
        readOnly: request.method === 'GET' || request.method === 'HEAD',
      });
    } catch (error) {
      if (error instanceof ServiceError) return surface.service(reply, error);
      throw error;
    }
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
