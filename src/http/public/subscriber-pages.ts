// Confirm, unsubscribe and preferences: each route reads its token, calls one service function
// and shows the page. A GET never changes anything (scanners and prefetchers follow links in
// mail); the page's form POSTs, and only the POST acts. Token problems surface as a ServiceError('not_found') → the
// friendly 404.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { ServiceError } from '../../services/errors.ts';
import {
  confirmOptIn,
  describeConfirm,
  describeUnsubscribe,
  getPreferences,
  unsubscribeByToken,
  updatePreferences,
  type PreferencesView,
} from '../../services/opt-in.ts';
import { pageStrings } from '../../domain/public-page-strings.ts';
import { sendPage } from './html.ts';
import {
  confirmQuestionPage,
  confirmedPage,
  preferencesPage,
  unsubscribedPage,
  unsubscribeQuestionPage,
} from './pages.ts';
import { sendErrorPage } from './error-page.ts';
import { PUBLIC_BODY_LIMIT } from './limits.ts';
import { formTokenValid, issueFormToken, sameOrigin } from './csrf.ts';

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
  // GET only asks: mail scanners and link prefetchers open links in mail, and must not confirm a
  // subscription nobody asked for. The page's button POSTs the form back with its form token.
  const confirmScope = (token: string) => `confirm:${token}`;
  const confirmQuestion = async (reply: FastifyReply, status: number, token: string, note: string | null) => {
    const question = await describeConfirm(ctx, token);
    // Nothing to confirm: no button, the page a confirmation would show.
    if (question.alreadyConfirmed) return sendPage(reply, 200, confirmedPage({ ...question, alreadyConfirmed: true }));
    const formToken = issueFormToken(ctx.secret, confirmScope(token), ctx.clock());
    return sendPage(reply, status, confirmQuestionPage(question, token, formToken, note));
  };

  app.get<WithToken>('/confirm/*', async (request, reply) => confirmQuestion(reply, 200, tokenOf(request), null));

  app.post<WithToken>('/confirm/*', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const token = tokenOf(request);
    if (!(request.body instanceof URLSearchParams)) {
      await describeConfirm(ctx, token); // a bad link is still a 404, whatever the body
      return sendErrorPage(request, reply, 415, 'bad_request');
    }
    if (!sameOrigin(request, ctx.config.publicUrl)) return sendErrorPage(request, reply, 403, 'bad_request');
    if (!formTokenValid(ctx.secret, confirmScope(token), request.body.get('token') ?? undefined, ctx.clock())) {
      const question = await describeConfirm(ctx, token);
      return confirmQuestion(reply, 400, token, pageStrings(question.language).signupExpired);
    }
    const result = await confirmOptIn(ctx, token, request.ip);
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

  // The preferences form carries a form token too (csrf.ts): only its own page can save it.
  const preferencesScope = (token: string) => `preferences:${token}`;
  const showPreferences = (
    reply: FastifyReply,
    status: number,
    view: PreferencesView,
    token: string,
    notice: Parameters<typeof preferencesPage>[3],
  ) =>
    sendPage(
      reply,
      status,
      preferencesPage(view, token, issueFormToken(ctx.secret, preferencesScope(token), ctx.clock()), notice),
    );

  app.get<WithToken>('/preferences/*', async (request, reply) => {
    const view = await getPreferences(ctx, tokenOf(request));
    return showPreferences(reply, 200, view, tokenOf(request), null);
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
      if (!sameOrigin(request, ctx.config.publicUrl)) return sendErrorPage(request, reply, 403, 'bad_request');
      if (!formTokenValid(ctx.secret, preferencesScope(token), formValue(form, 'token'), ctx.clock())) {
        const view = await getPreferences(ctx, token);
        return showPreferences(reply, 400, view, token, {
          kind: 'error',
          text: pageStrings(view.language).signupExpired,
        });
      }
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
        return await showPreferences(reply, 200, view, token, { kind: 'saved' });
      } catch (error) {
        if (!(error instanceof ServiceError) || error.reason !== 'invalid') throw error;
        const view = await getPreferences(ctx, token);
        return showPreferences(reply, 422, view, token, {
          kind: 'error',
          text: pageStrings(view.language).invalidInput,
        });
      }
    },
  );
}
