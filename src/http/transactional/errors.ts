// The transactional surface's error dialect (the Mailtarget seed):
//   {"errors":[{"message":"…","description":"…","code":"1400"}],"message":"…"}
// The top-level `message` is for clients written against Mailtarget's published contract, whose
// error body (response.Response) has a `message`: it carries the first error's description, the
// sentence a person can act on (errors[0].message is its category).
// One table maps every error this surface can return to its HTTP status and code. Codes are
// stable: never reuse one for another meaning. The table is published in the OpenAPI document.
import type { FastifyReply } from 'fastify';
import type { ServiceErrorReason } from '../../services/errors.ts';

export const ERROR_CODES = {
  '1300': {
    status: 401,
    message: 'authentication failed',
    when: 'The API key is missing, malformed, unknown or revoked.',
  },
  '1301': { status: 403, message: 'permission denied', when: 'The API key lacks the permission this endpoint needs.' },
  '1302': {
    status: 403,
    message: 'ip address not allowed',
    when: "The caller's IP address is not in the key's allowed list.",
  },
  '1303': {
    status: 403,
    message: 'account suspended',
    when:
      'The account (a sub-account) is Suspended or Terminated: it cannot send; ' +
      'or X-MT-ATTR names a terminated sub-account for a change.',
  },
  '1304': {
    status: 429,
    message: 'too many failed authentications',
    when:
      'This client IP is locked on /v1 after repeated wrong API keys (5 → 30 s, … up to one hour); ' +
      'retry after Retry-After seconds. Wrong keys on other surfaces do not count here.',
  },
  '1400': { status: 422, message: 'required field is missing', when: 'A required field is absent or empty.' },
  '1401': {
    status: 422,
    message: 'invalid field value',
    when:
      'A field has the wrong type, shape or value (including numbers outside signed 32 bits and line breaks in ' +
      'headers).',
  },
  '1402': { status: 422, message: 'unknown template', when: 'templateId names no template of this account.' },
  '1403': {
    status: 422,
    message: 'sender domain not verified',
    when: 'Mail really leaves the machine and the from domain is not a verified sending domain of the account.',
  },
  '1404': {
    status: 422,
    message: 'too many recipients',
    when: 'to, cc and bcc together exceed the per-transmission limit.',
  },
  '1405': { status: 422, message: 'invalid email address', when: 'An address is not a valid email address.' },
  '1406': {
    status: 422,
    message: 'template error',
    when: 'The subject or a body does not parse or render as a template.',
  },
  '1409': {
    status: 409,
    message: 'conflict',
    when: 'The Idempotency-Key was used before with a different body, or the resource already exists.',
  },
  '1410': {
    status: 400,
    message: 'invalid request syntax',
    when: 'The body is not valid JSON, or the request is malformed.',
  },
  '1413': { status: 413, message: 'request too large', when: 'The body exceeds the size limit (20 MB by default).' },
  '1415': { status: 415, message: 'unsupported media type', when: 'The body is not sent as application/json.' },
  '1420': { status: 420, message: 'sending limit exceeded', when: 'The daily or monthly sending limit is reached.' },
  '1429': { status: 429, message: 'too many requests', when: 'Rate limited; wait for Retry-After seconds.' },
  '1500': {
    status: 500,
    message: 'internal error',
    when: 'Something went wrong on our side; the request can be retried.',
  },
  '1503': {
    status: 503,
    message: 'service unavailable',
    when:
      'Overloaded, shutting down, or the database is unavailable (restarting, unreachable, disk full); ' +
      'retry after Retry-After seconds.',
  },
  '1600': { status: 404, message: 'not found', when: 'No such endpoint, or no such resource in this account.' },
  '1605': { status: 405, message: 'method not allowed', when: 'The path exists but not with this method.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function sendError(reply: FastifyReply, code: ErrorCode, description: string): FastifyReply {
  const entry = ERROR_CODES[code];
  return reply
    .code(entry.status)
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message: entry.message, description, code }], message: description || entry.message });
}

const BY_REASON: Record<ServiceErrorReason, ErrorCode> = {
  required: '1400',
  invalid: '1401',
  invalid_email: '1405',
  unknown_template: '1402',
  template_error: '1406',
  domain_unverified: '1403',
  too_many_recipients: '1404',
  not_found: '1600',
  conflict: '1409',
  limit_exceeded: '1420',
  forbidden: '1301',
  account_suspended: '1303',
};

export function codeForReason(reason: ServiceErrorReason): ErrorCode {
  return BY_REASON[reason];
}

/** The markdown table of codes that goes into the OpenAPI document's description. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| ${code} | ${e.status} | ${e.message} | ${e.when} |`);
  return ['| code | HTTP | message | when |', '|---|---|---|---|', ...rows].join('\n');
}
