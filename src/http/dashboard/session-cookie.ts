// The dashboard's session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (a request
// started by another site does not carry it), Secure when Posthorn is reached over https.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'posthorn_session';
/** The header the SPA sends the session's CSRF token in, on every request it makes with the cookie. */
export const CSRF_HEADER = 'x-csrf-token';

/** The session token from the Cookie header, if the request carries one. */
export function sessionCookie(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : null;
    }
  }
  return null;
}

export function csrfHeader(request: FastifyRequest): string | undefined {
  const value = request.headers[CSRF_HEADER];
  return Array.isArray(value) ? value[0] : value;
}

function attributes(secure: boolean): string {
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function setSessionCookie(reply: FastifyReply, token: string, maxAgeMs: number, secure: boolean): void {
  void reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${token}; Max-Age=${Math.floor(maxAgeMs / 1000)}; ${attributes(secure)}`,
  );
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${attributes(secure)}`);
}
