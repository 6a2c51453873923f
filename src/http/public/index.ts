// The public pages under /p: links that land in subscribers' mail. They speak HTML, not an API
// dialect: their own body parsers (forms, RFC 8058 one-click), error handler and 404 page live in
// this encapsulated plugin, so the API surfaces outside stay JSON-only.
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { ServiceError } from '../../services/errors.ts';
import { sendErrorPage, sendUnavailablePageIf } from './error-page.ts';
import { registerSubscriberPages } from './subscriber-pages.ts';
import { registerViewPage } from './view-page.ts';
import { registerSignupPage } from './signup-page.ts';
import { registerConsentPage } from './consent-page.ts';
import { PUBLIC_BODY_LIMIT } from './limits.ts';

export async function registerPublicRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  await app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: PUBLIC_BODY_LIMIT },
        (_request, body, done) => {
          done(null, new URLSearchParams(body as string));
        },
      );
      // RFC 8058 lets a mail provider send the one-click POST as multipart/form-data, and some send
      // other types still. Unsubscribing needs nothing from the body, so it is read and dropped;
      // the preferences form insists on a URL-encoded body and refuses anything else.
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PUBLIC_BODY_LIMIT }, (_request, _body, done) =>
        done(null, null),
      );

      scope.setErrorHandler((error: FastifyError, request, reply) => {
        if (error instanceof ServiceError)
          return sendErrorPage(
            request,
            reply,
            error.reason === 'not_found' ? 404 : 400,
            error.reason === 'not_found' ? 'invalid_link' : 'bad_request',
          );
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
          request.raw.pause();
          void reply.header('connection', 'close');
          return sendErrorPage(request, reply, 413, 'bad_request');
        }
        if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
          return sendErrorPage(request, reply, error.statusCode, 'bad_request');
        const unavailable = sendUnavailablePageIf(request, reply, error);
        if (unavailable) return unavailable;
        request.log.error({ err: error }, 'public page failed');
        return sendErrorPage(request, reply, 500, 'server_error');
      });
      // Unknown paths under /p (and a wrong method on a known one) get the same friendly page.
      scope.setNotFoundHandler((request, reply) => sendErrorPage(request, reply, 404, 'invalid_link'));

      registerSubscriberPages(scope, ctx);
      registerViewPage(scope, ctx);
      registerSignupPage(scope, ctx);
      registerConsentPage(scope, ctx);
    },
    { prefix: '/p' },
  );
}
