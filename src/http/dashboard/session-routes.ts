// Signing in to and out of the dashboard: /dashboard-api/session. Everything else the dashboard
// does goes through the ordinary /v1 and /api/v1 routes, authenticated by the session cookie plus
// the CSRF header (src/http/auth.ts). Errors speak the /v1 dialect.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { describeSession, signIn, signOut, type SignInCredentials } from '../../services/dashboard-sessions.ts';
import { sendError } from '../transactional/errors.ts';
import { clearSessionCookie, csrfHeader, sessionCookie, setSessionCookie } from './session-cookie.ts';

export const DASHBOARD_API_PREFIX = '/dashboard-api';

const SignInBody = Type.Object({
  apiKey: Type.Optional(Type.String({ maxLength: 200 })),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  password: Type.Optional(Type.String({ maxLength: 1000 })),
  token: Type.Optional(Type.String({ maxLength: 200 })),
});

function credentialsOf(body: Static<typeof SignInBody>): SignInCredentials | null {
  if (body.token) return { token: body.token };
  if (body.apiKey) return { apiKey: body.apiKey };
  if (body.email && body.password) return { email: body.email, password: body.password };
  return null;
}

export function registerDashboardSessionRoutes(app: FastifyInstance, ctx: Context): void {
  const secure = ctx.config.publicUrl.startsWith('https:');
  const hidden = { hide: true };

  app.post(`${DASHBOARD_API_PREFIX}/session`, { schema: { ...hidden, body: SignInBody } }, async (request, reply) => {
    const credentials = credentialsOf(request.body as Static<typeof SignInBody>);
    if (!credentials)
      return sendError(reply, '1400', 'give an API key, an email and password, or a sign-in link token');
    const result = await signIn(ctx, credentials, request.ip);
    if (!result.ok) {
      if (result.reason === 'locked') {
        const seconds = Math.max(1, Math.ceil((result.retryAfterMs ?? 1000) / 1000));
        void reply.header('retry-after', String(seconds));
        return sendError(reply, '1429', `too many failed sign-ins from ${request.ip}; try again in ${seconds} s`);
      }
      return sendError(reply, '1300', 'these credentials are not valid (or the sign-in link was already used)');
    }
    setSessionCookie(reply, result.session.sessionToken, result.session.expiresAt - ctx.clock(), secure);
    return describeSession(ctx, result.session.sessionToken, request.ip);
  });

  app.get(`${DASHBOARD_API_PREFIX}/session`, { schema: hidden }, async (request, reply) => {
    const token = sessionCookie(request);
    const session = token ? await describeSession(ctx, token, request.ip) : null;
    if (!session) return sendError(reply, '1300', 'not signed in');
    // The answer holds the CSRF token: never cached, read only by same-origin scripts.
    void reply.header('cache-control', 'no-store');
    return session;
  });

  const signOutRoute = (everywhere: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const token = sessionCookie(request);
    if (!token || !(await signOut(ctx, token, csrfHeader(request), everywhere)))
      return sendError(reply, '1300', 'not signed in, or the CSRF token is missing');
    clearSessionCookie(reply, secure);
    return reply.code(204).send();
  };
  app.delete(`${DASHBOARD_API_PREFIX}/session`, { schema: hidden }, signOutRoute(false));
  /** Sign out everywhere: every session of the same key or user. */
  app.delete(`${DASHBOARD_API_PREFIX}/sessions`, { schema: hidden }, signOutRoute(true));
}
