// The public signup form /p/subscribe/{accountId}/{channelId} (double opt-in, no JavaScript):
// GET shows the form with a signed form token; POST checks the token and the origin (CSRF),
// counts the client IP against the signup limit, and signs up through src/services/signup.ts.
// A hidden field that people leave empty catches simple bots, who are told the same as people.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { ServiceError } from '../../services/errors.ts';
import { signUp, signupFrame, type SignupFrame } from '../../services/signup.ts';
import { limitsFor } from '../../services/limits.ts';
import { pageStrings } from '../../domain/public-page-strings.ts';
import { escapeHtml, sendPage, type Page } from './html.ts';
import { formTokenValid, issueFormToken, sameOrigin } from './csrf.ts';
import { sendErrorPage } from './error-page.ts';
import { PUBLIC_BODY_LIMIT } from './limits.ts';

type Params = { Params: { accountId: string; channelId: string } };
const HONEYPOT = 'website';

interface FormState {
  email: string;
  firstname: string;
  lastname: string;
  error: string | null;
}

function formPage(f: SignupFrame, action: string, token: string, state: FormState): Page {
  const s = pageStrings(f.language);
  const input = (name: 'email' | 'firstname' | 'lastname', type: string, autocomplete: string, required: boolean) => {
    const attributes = [
      `type="${type}"`,
      `id="${name}"`,
      `name="${name}"`,
      `value="${escapeHtml(state[name])}"`,
      `maxlength="${name === 'email' ? 254 : 100}"`,
      `autocomplete="${autocomplete}"`,
      ...(required ? ['required'] : []),
      ...(state.error && name === 'email' ? ['aria-invalid="true"', 'aria-describedby="error"'] : []),
    ];
    return `<label for="${name}">${escapeHtml(s[name])}</label>\n<input ${attributes.join(' ')}>`;
  };
  // A field people never see (and leave empty); simple bots fill it in.
  const trap =
    `<div hidden><label for="${HONEYPOT}">Website</label>` +
    `<input type="text" id="${HONEYPOT}" name="${HONEYPOT}" tabindex="-1" autocomplete="off"></div>`;
  return {
    language: f.language,
    channel: f.channel,
    title: s.signupTitle,
    body: `<p>${escapeHtml(s.signupIntro(f.channel.name))}</p>
${state.error ? `<p id="error" role="alert"><strong>${escapeHtml(state.error)}</strong></p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
${input('email', 'email', 'email', true)}
${input('firstname', 'text', 'given-name', false)}
${input('lastname', 'text', 'family-name', false)}
${trap}
<button type="submit">${escapeHtml(s.signupButton)}</button>
</form>`,
  };
}

function donePage(f: SignupFrame): Page {
  const s = pageStrings(f.language);
  return {
    language: f.language,
    channel: f.channel,
    title: s.signupDoneTitle,
    body: `<p>${escapeHtml(s.signupDoneText(f.channel.name))}</p>`,
  };
}

export function registerSignupPage(app: FastifyInstance, ctx: Context): void {
  const limits = limitsFor(ctx);
  const target = (request: FastifyRequest<Params>) => {
    const { accountId, channelId } = request.params;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(accountId) || !/^[1-9]\d{0,9}$/.test(channelId))
      throw new ServiceError('not_found', 'signup form');
    return { accountId, channelId: Number(channelId), action: `/p/subscribe/${accountId}/${channelId}` };
  };
  const scopeOf = (t: { accountId: string; channelId: number }) => `subscribe:${t.accountId}:${t.channelId}`;
  const empty: FormState = { email: '', firstname: '', lastname: '', error: null };
  const show = (reply: FastifyReply, status: number, f: SignupFrame, t: ReturnType<typeof target>, state: FormState) =>
    sendPage(reply, status, formPage(f, t.action, issueFormToken(ctx.secret, scopeOf(t), ctx.clock()), state));

  app.get<Params>('/subscribe/:accountId/:channelId', async (request, reply) => {
    const t = target(request);
    return show(reply, 200, await signupFrame(ctx, t.accountId, t.channelId), t, empty);
  });

  app.post<Params>('/subscribe/:accountId/:channelId', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const t = target(request);
    const frame = await signupFrame(ctx, t.accountId, t.channelId);
    if (!(request.body instanceof URLSearchParams)) return sendErrorPage(request, reply, 415, 'bad_request');
    const form = request.body;
    const state: FormState = {
      email: (form.get('email') ?? '').slice(0, 254),
      firstname: (form.get('firstname') ?? '').slice(0, 100),
      lastname: (form.get('lastname') ?? '').slice(0, 100),
      error: null,
    };
    const s = pageStrings(frame.language);
    if (!sameOrigin(request, ctx.config.publicUrl)) return sendErrorPage(request, reply, 403, 'bad_request');
    if (!formTokenValid(ctx.secret, scopeOf(t), form.get('token') ?? undefined, ctx.clock()))
      return show(reply, 400, frame, t, { ...state, error: s.signupExpired });
    if (!(await limits.allowSignup(request.ip))) {
      void reply.header('Retry-After', String(Math.ceil(limits.signupWindowMs / 1000)));
      return show(reply, 429, frame, t, { ...state, error: s.signupTooMany });
    }
    if ((form.get(HONEYPOT) ?? '') !== '') return sendPage(reply, 200, donePage(frame));
    try {
      await signUp(ctx, t.accountId, t.channelId, state);
    } catch (error) {
      if (error instanceof ServiceError && error.reason === 'invalid_email')
        return show(reply, 422, frame, t, { ...state, error: s.signupInvalidEmail });
      throw error;
    }
    return sendPage(reply, 200, donePage(frame));
  });
}
