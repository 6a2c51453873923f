// The friendly error page, in the browser's language: a public page never shows a stack trace.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { languageFromAcceptLanguage } from '../../domain/public-page-strings.ts';
import { sendPage } from './html.ts';
import { errorPage } from './pages.ts';
import { storeUnavailable } from '../../services/errors.ts';

export function sendErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  kind: Parameters<typeof errorPage>[1],
): FastifyReply {
  return sendPage(reply, status, errorPage(languageFromAcceptLanguage(request.headers['accept-language']), kind));
}

/** The friendly 503 page (with Retry-After) when `error` is the store being unavailable; null otherwise. */
export function sendUnavailablePageIf(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply | null {
  const unavailable = storeUnavailable(error);
  if (!unavailable) return null;
  request.log.debug({ err: error }, 'page failed: the store is unavailable');
  void reply.header('retry-after', String(unavailable.retryAfterSeconds));
  return sendErrorPage(request, reply, 503, 'unavailable');
}
