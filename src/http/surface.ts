// What a surface (an API dialect) must be able to say. The server picks the surface by URL
// prefix, so errors raised before a route runs (parsing, size, routing) still speak the dialect.
import type { FastifyReply } from 'fastify';
import type { ServiceError } from '../services/errors.ts';
import type { FieldProblem } from './validation.ts';
import type { LockSurface } from '../domain/brute-force.ts';

export type AuthFailure = 'missing' | 'invalid' | 'ip_not_allowed' | 'permission';

export interface Surface {
  prefix: string;
  validation(reply: FastifyReply, problem: FieldProblem): FastifyReply;
  service(reply: FastifyReply, error: ServiceError): FastifyReply;
  auth(reply: FastifyReply, failure: AuthFailure, detail: string): FastifyReply;
  notFound(reply: FastifyReply, detail: string): FastifyReply;
  methodNotAllowed(reply: FastifyReply, allowed: string[]): FastifyReply;
  /** Errors of the HTTP layer itself: bad JSON (400), too large (413), wrong media type (415), 500. */
  protocol(reply: FastifyReply, status: 400 | 413 | 415 | 500 | 503, detail: string): FastifyReply;
  /**
   * The surface's own brute-force lock (domain/brute-force.ts): which counter its failed
   * authentications go to, and its answer to a locked client (429; Retry-After is already set).
   * A surface without one is never locked.
   */
  bruteForce?: { counter: LockSurface; locked(reply: FastifyReply, retryAfterSeconds: number): FastifyReply };
}
