// The friendly error page, in the browser's language: a public page never shows a stack trace.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { languageFromAcceptLanguage } from '../../domain/public-page-strings.ts';
import { sendPage } from './html.ts';
import { errorPage } from './pages.ts';

export function sendErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  kind: Parameters<typeof errorPage>[1],
): FastifyReply {
  return sendPage(reply, status, errorPage(languageFromAcceptLanguage(request.headers['accept-language']), kind));
}
