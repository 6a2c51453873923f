// /p/view/{token}: the web version of a mailing ({{webViewUrl}}), rendered for the token's
// subscriber. The HTML is the sender's own, so it is shown sandboxed: no scripts, no forms, no
// frames of it elsewhere; images and styles load as in a mail client.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { webViewByToken } from '../../services/mailing-views.ts';

type WithToken = { Params: { '*': string } };

const CSP =
  "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; default-src 'none'; " +
  "img-src * data:; style-src * 'unsafe-inline'; font-src * data:; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

export function registerViewPage(app: FastifyInstance, ctx: Context): void {
  app.get<WithToken>('/view/*', async (request: FastifyRequest<WithToken>, reply) => {
    const view = await webViewByToken(ctx, request.params['*'] ?? '');
    return reply
      .code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'private, no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('x-robots-tag', 'noindex, nofollow')
      .send(view.html);
  });
}
