// The tracking endpoints under /t: the open pixel and the click redirect. Like the pages under /p
// they speak HTML, need no API key, and answer a forged or altered token with the friendly 404
// page: a click token that does not verify redirects nowhere (no open redirect).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { clickTarget, recordClick, recordOpen, type TrackingClient } from '../../services/tracking.ts';
import { sendErrorPage, sendUnavailablePageIf } from './error-page.ts';

// The smallest transparent GIF (1×1, 43 bytes).
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

// Wildcards, not `:token`: a click token carries its URL and can be longer than the router's
// parameter limit, and an over-long parameter would be refused before any route runs.
type WithToken = { Params: { '*': string } };

const clientOf = (request: FastifyRequest): TrackingClient => ({
  userAgent: request.headers['user-agent'] ?? null,
  ip: request.ip ?? null,
});

const noCache = (reply: FastifyReply) =>
  reply
    .header('cache-control', 'no-store, no-cache, must-revalidate, private, max-age=0')
    .header('pragma', 'no-cache')
    .header('expires', '0');

export async function registerTrackingRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  // A reader is never refused over our own trouble: if the event cannot be written, the pixel and
  // the redirect are still served (and the failure is logged).
  const safely = async <T>(request: FastifyRequest, work: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      request.log.error({ err: error }, 'could not record a tracking event');
      return fallback;
    }
  };

  await app.register(
    async (scope) => {
      scope.setNotFoundHandler((request, reply) => sendErrorPage(request, reply, 404, 'invalid_link'));
      scope.setErrorHandler((error, request, reply) => {
        const unavailable = sendUnavailablePageIf(request, reply, error);
        if (unavailable) return unavailable;
        request.log.error({ err: error }, 'tracking endpoint failed');
        return sendErrorPage(request, reply, 500, 'server_error');
      });

      // HEAD is not routed: link checkers and scanners send it, and it must not count as a visit.
      scope.get<WithToken>('/o/*', { exposeHeadRoute: false }, async (request, reply) => {
        const token = request.params['*'] ?? '';
        const valid = await safely(request, () => recordOpen(ctx, token, clientOf(request)), null);
        if (valid === false) return sendErrorPage(request, noCache(reply), 404, 'invalid_link');
        return noCache(reply).code(200).type('image/gif').send(PIXEL);
      });

      scope.get<WithToken>('/c/*', { exposeHeadRoute: false }, async (request, reply) => {
        const token = request.params['*'] ?? '';
        // On a write failure the token is checked again without recording, so a forged token still gets nothing.
        const url = await safely(request, () => recordClick(ctx, token, clientOf(request)), undefined);
        const target = url === undefined ? clickTarget(ctx, token) : url;
        if (!target) return sendErrorPage(request, noCache(reply), 404, 'invalid_link');
        return noCache(reply).header('referrer-policy', 'no-referrer').redirect(target, 302);
      });
    },
    { prefix: '/t' },
  );
}
