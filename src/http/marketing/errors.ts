// The marketing surface's error dialect (the mail2many seed):
//   {"status":"error","code":1002,"message":"The given data was invalid.","errors":{…},"statusCode":422}
// `errors` is [] when there are no field errors. The table is published in the OpenAPI document.
import type { FastifyReply } from 'fastify';
import { summarizeFieldErrors } from '../../domain/laravel-messages.ts';

export const MARKETING_ERROR_CODES = {
  401: {
    status: 401,
    message: 'Invalid credentials.',
    when: 'The API key is missing, malformed, unknown or revoked.',
  },
  1000: { status: 500, message: 'Unknown error', when: 'An unexpected error.' },
  1001: {
    status: 500,
    message: 'Internal error',
    when:
      'Something went wrong on our side; the request can be retried (HTTP 500). With HTTP 503 and Retry-After: ' +
      'the server is shutting down or the database is unavailable; retry after Retry-After seconds.',
  },
  1002: {
    status: 422,
    message: 'The given data was invalid.',
    when:
      'Validation failed (422); also malformed JSON (400, the parse position in ' +
      'errors.body), a body that is not JSON (415) and a bulk request over the item ' +
      'limit (413). `message` is the first field error, then " (and N more error[s])", ' +
      'as Laravel writes it.',
  },
  1020: {
    status: 404,
    message: 'Error getting resource.',
    when:
      'No such resource in this account, or no such endpoint (404). Also a GET refused ' +
      'before it runs: a key without the permission (403, "This action is ' +
      'unauthorized.") or a method the path does not take (405).',
  },
  1021: {
    status: 400,
    message: 'Error creating resource.',
    when:
      'The resource could not be created; also a POST by a key without the permission ' +
      '(403) or to a path that takes no POST (405).',
  },
  1022: {
    status: 400,
    message: 'Error updating resource.',
    when:
      'The resource could not be changed; also a PUT or PATCH by a key without the ' +
      'permission (403) or to a path that takes none (405).',
  },
  1023: {
    status: 400,
    message: 'Error deleting resource.',
    when:
      'The resource could not be deleted; also a DELETE by a key without the permission ' +
      '(403) or to a path that takes none (405).',
  },
  1024: {
    status: 409,
    message: 'The resource is already existing.',
    when: 'A unique value (an email, a group name) is taken.',
  },
  1025: {
    status: 423,
    message: 'Resource is locked.',
    when: 'The change needs an advanced permission of the key, or the resource may not be changed.',
  },
  1100: {
    status: 429,
    message: 'Too many failed authentications.',
    when: 'This client IP is locked after repeated failed authentications.',
  },
} as const;

export type MarketingErrorCode = keyof typeof MARKETING_ERROR_CODES;
export type FieldErrors = Record<string, string[]>;

export function sendMarketingError(
  reply: FastifyReply,
  code: MarketingErrorCode,
  opts: { status?: number; message?: string; errors?: FieldErrors } = {},
): FastifyReply {
  const entry = MARKETING_ERROR_CODES[code];
  const status = opts.status ?? entry.status;
  // A validation failure's message is its first field error (and how many more), as Laravel writes it.
  const summary = code === 1002 && opts.errors ? summarizeFieldErrors(opts.errors) : null;
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({
      status: 'error',
      code,
      message: opts.message ?? summary ?? entry.message,
      errors: opts.errors ?? [],
      statusCode: status,
    });
}

export function marketingErrorCodeTable(): string {
  const rows = Object.entries(MARKETING_ERROR_CODES).map(
    ([code, e]) => `| ${code} | ${e.status} | ${e.message} | ${e.when} |`,
  );
  return ['| code | HTTP | message | when |', '|---|---|---|---|', ...rows].join('\n');
}
