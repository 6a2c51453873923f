// Confirm, unsubscribe and preferences: each route reads its token, calls one service function
// and shows the page. Token problems surface as a ServiceError('not_found') → the friendly 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../../services/context.ts';
import { ServiceError } from '../../services/errors.ts';
import {
  confirmOptIn,
  describeUnsubscribe,
  getPreferences,
  unsubscribeByToken,
  updatePreferences,
} from '../../services/opt-in.ts';
import { pageStrings } from '../../domain/public-page-strings.ts';
import { sendPage } from './html.ts';
import { confirmedPage, preferencesPage, unsubscribedPage, unsubscribeQuestionPage } from './pages.ts';
import { sendErrorPage } from './error-page.ts';
import { PUBLIC_BODY_LIMIT } from './limits.ts';

// The token is taken from a wildcard, not a `:token` parameter: an over-long parameter is refused
// by the router before any route runs (in the API's JSON dialect), and a forged link should get the
// same friendly page as any other. A token with a slash in it is simply not a token.
type WithToken = { Params: { '*': string } };
const tokenOf = (request: FastifyRequest<WithToken>) => request.params['*'] ?? '';

function formValue(form: URLSearchParams, name: string): string | undefined {
  const v = form.get(name);
  return v === null ? undefined : v;
}

export function registerSubscriberPages(app: FastifyInstance, ctx: Context): void {
  // Confirming on GET is what a link in a mail can do. HEAD (which some link checkers send) is
  // not routed, so it cannot confirm anybody.
  app.get<WithToken>('/confirm/*', { exposeHeadRoute: false }, async (request, reply) => {
    const result = await confirmOptIn(ctx, tokenOf(request), request.ip);
    return sendPage(reply, 200, confirmedPage(result));
  });

  // GET only asks: mail scanners and link prefetchers fetch pages, and must not unsubscribe anyone.
  app.get<WithToken>('/unsubscribe/*', async (request, reply) => {
    const result = await describeUnsubscribe(ctx, tokenOf(request));
    return sendPage(reply, 200, unsubscribeQuestionPage(result, tokenOf(request)));
  });

  // The page's button and RFC 8058 one-click (body "List-Unsubscribe=One-Click", or none at all).
  app.post<WithToken>('/unsubscribe/*', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const result = await unsubscribeByToken(ctx, tokenOf(request));
    return sendPage(reply, 200, unsubscribedPage(result));
  });

  app.get<WithToken>('/preferences/*', async (request, reply) => {
    const view = await getPreferences(ctx, tokenOf(request));
    return sendPage(reply, 200, preferencesPage(view, tokenOf(request), null));
  });

  app.post<WithToken>(
    '/preferences/*',
    { bodyLimit: PUBLIC_BODY_LIMIT },
    async (request: FastifyRequest<WithToken>, reply) => {
      const token = tokenOf(request);
      // Only the form itself: saving from an unreadable body would clear every field and channel.
      if (!(request.body instanceof URLSearchParams)) {
        await getPreferences(ctx, token); // a bad token is still a 404, whatever the body
        return sendErrorPage(request, reply, 415, 'bad_request');
      }
      const form = request.body;
      const channelIds = form
        .getAll('channels')
        .filter((v) => /^\d{1,15}$/.test(v))
        .map(Number);
      try {
        const view = await updatePreferences(ctx, token, {
          firstname: formValue(form, 'firstname'),
          lastname: formValue(form, 'lastname'),
          languageIso: formValue(form, 'languageIso'),
          channelIds,
        });
        return await sendPage(reply, 200, preferencesPage(view, token, { kind: 'saved' }));
      } catch (error) {
        if (!(error instanceof ServiceError) || error.reason !== 'invalid') throw error;
        const view = await getPreferences(ctx, token);
        return sendPage(
          reply,
          422,
          preferencesPage(view, token, { kind: 'error', text: pageStrings(view.language).invalidInput }),
        );
      }
    },
  );
}
