// The sandbox recipient's consent page /p/consent/{token} (the link in the consent mail). GET only
// asks: mail scanners and link prefetchers open every link, so nothing changes until the button's
// POST, which must bring back the form token signed for this link (CSRF) from the same origin.
// A forged, expired or withdrawn link shows the friendly 404 page.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { consentRequest, giveConsent } from '../../services/sandbox-recipients.ts';
import { escapeHtml, sendPage, type Page } from './html.ts';
import { formTokenValid, issueFormToken, sameOrigin } from './csrf.ts';
import { sendErrorPage } from './error-page.ts';
import { PUBLIC_BODY_LIMIT } from './limits.ts';

type Params = { Params: { token: string } };
const TITLE = 'Test mail from a sandbox';
const BRAND = { name: 'Posthorn sandbox', color: null };
const EXPIRED_NOTE = '<p class="note error" role="alert">This form expired; please press the button again.</p>\n';

function questionPage(email: string, action: string, formToken: string, expired: boolean): Page {
  return {
    language: 'en',
    channel: BRAND,
    title: TITLE,
    body: `${expired ? EXPIRED_NOTE : ''}<p>Someone wants to send test mail from a Posthorn sandbox to
<strong>${escapeHtml(email)}</strong>. Nothing is delivered to you unless you agree.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(formToken)}">
<button type="submit">Give consent</button>
</form>`,
  };
}

function consentedPage(email: string, already: boolean): Page {
  return {
    language: 'en',
    channel: BRAND,
    title: TITLE,
    body: `<p class="note" role="status">${already ? 'You had already agreed' : 'Thank you: you agreed'}
to receive test mail at <strong>${escapeHtml(email)}</strong>.</p>`,
  };
}

export function registerConsentPage(app: FastifyInstance, ctx: Context): void {
  const scopeOf = (token: string) => `consent:${token}`;
  const actionOf = (token: string) => `/p/consent/${token}`;

  app.get<Params>('/consent/:token', async (request, reply) => {
    const { token } = request.params;
    const r = await consentRequest(ctx, token);
    if (r.verified) return sendPage(reply, 200, consentedPage(r.email, true));
    const form = issueFormToken(ctx.secret, scopeOf(token), ctx.clock());
    return sendPage(reply, 200, questionPage(r.email, actionOf(token), form, false));
  });

  app.post<Params>('/consent/:token', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const { token } = request.params;
    const r = await consentRequest(ctx, token);
    if (!(request.body instanceof URLSearchParams)) return sendErrorPage(request, reply, 415, 'bad_request');
    if (!sameOrigin(request, ctx.config.publicUrl)) return sendErrorPage(request, reply, 403, 'bad_request');
    if (!formTokenValid(ctx.secret, scopeOf(token), request.body.get('token') ?? undefined, ctx.clock())) {
      const form = issueFormToken(ctx.secret, scopeOf(token), ctx.clock());
      return sendPage(reply, 400, questionPage(r.email, actionOf(token), form, true));
    }
    await giveConsent(ctx, token);
    return sendPage(reply, 200, consentedPage(r.email, r.verified));
  });
}
