// CSRF protection for the public forms, without cookies: the form carries a token the server
// signed for exactly this form (its scope, e.g. "subscribe:<account>:<channel>") and the time it
// was shown; a POST must bring it back within the lifetime. A page of another site cannot read the
// form, so it cannot forge the token. Browsers that send Sec-Fetch-Site or Origin are held to the
// same origin too. Reusable by every state-changing /p/* form.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const FORM_TOKEN_LIFETIME_MS = 2 * 3600_000;

const mac = (secret: string, scope: string, issuedAt: number) =>
  createHmac('sha256', secret).update(`form:${scope}:${issuedAt}`).digest('base64url');

export function issueFormToken(secret: string, scope: string, now: number): string {
  return `${now.toString(36)}.${mac(secret, scope, now)}`;
}

export function formTokenValid(secret: string, scope: string, token: string | undefined, now: number): boolean {
  const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!m) return false;
  const issuedAt = parseInt(m[1], 36);
  if (!(issuedAt <= now && now - issuedAt <= FORM_TOKEN_LIFETIME_MS)) return false;
  const expected = Buffer.from(mac(secret, scope, issuedAt));
  const given = Buffer.from(m[2]);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** False when the browser says the POST comes from another site. */
export function sameOrigin(request: FastifyRequest, publicUrl: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return origin === undefined;
  const own = new Set([new URL(publicUrl).origin, `${request.protocol}://${request.headers.host ?? ''}`]);
  return own.has(origin);
}
