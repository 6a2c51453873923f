import type { FastifyReply } from 'fastify';
import type { Surface } from '../surface.ts';
import type { FieldProblem } from '../validation.ts';
import { laravelFieldMessage, laravelSentence } from '../../domain/laravel-messages.ts';
import { sendMarketingError, type MarketingErrorCode } from './errors.ts';

const REASON_CODES: Record<string, { code: MarketingErrorCode; status?: number }> = {
  required: { code: 1002 },
  invalid: { code: 1002 },
  invalid_email: { code: 1002 },
  unknown_template: { code: 1002 },
  template_error: { code: 1002 },
  domain_unverified: { code: 1002 },
  too_many_recipients: { code: 1002, status: 413 },
  not_found: { code: 1020 },
  conflict: { code: 1024 },
  limit_exceeded: { code: 1002, status: 429 },
  forbidden: { code: 1025 },
  account_suspended: { code: 1025, status: 403 },
};

/**
 * The seed's table has a code per kind of operation (1020 getting, 1021 creating, 1022 updating,
 * 1023 deleting a resource); a request refused before it runs — a key without the permission, a
 * method the path does not take — gets the code of what it tried to do.
 */
export function operationCode(method: string): MarketingErrorCode {
  switch (method.toUpperCase()) {
    case 'POST':
      return 1021;
    case 'PUT':
    case 'PATCH':
      return 1022;
    case 'DELETE':
      return 1023;
    default:
      return 1020;
  }
}

/** Laravel's attribute names are dotted: subscribers.0.email. */
const attributeOf = (field: string) => field.replace(/\[(\d+)\]/g, '.$1');

function laravelProblem(p: FieldProblem): string {
  const attribute = attributeOf(p.field);
  return p.rule
    ? laravelFieldMessage(attribute, p.rule)
    : laravelSentence(attribute, p.description, p.kind === 'required');
}

const methodOf = (reply: FastifyReply) => reply.request.method;

export const marketingSurface: Surface = {
  prefix: '/api/v1',
  validation: (reply, p) =>
    sendMarketingError(reply, 1002, { errors: { [attributeOf(p.field)]: [laravelProblem(p)] } }),
  service: (reply, e) => {
    const m = REASON_CODES[e.reason] ?? { code: 1000 };
    const field = e.field ?? (m.code === 1002 ? 'request' : undefined);
    const text = m.code === 1002 && field ? laravelSentence(field, e.detail, e.reason === 'required') : e.detail;
    return sendMarketingError(reply, m.code, {
      status: m.status,
      message: m.code === 1002 ? undefined : e.detail,
      errors: field ? { [field]: [text] } : [],
    } as never);
  },
  auth: (reply, failure, detail) =>
    failure === 'permission' || failure === 'ip_not_allowed'
      ? sendMarketingError(reply, operationCode(methodOf(reply)), {
          status: 403,
          // Laravel's AuthorizationException says this; the reason follows in errors.
          message: 'This action is unauthorized.',
          errors: { [failure === 'permission' ? 'permission' : 'ip']: [detail] },
        })
      : sendMarketingError(reply, 401),
  notFound: (reply, detail) => sendMarketingError(reply, 1020, { errors: { resource: [detail] } }),
  methodNotAllowed: (reply, allowed) => {
    void reply.header('Allow', allowed.join(', '));
    const method = methodOf(reply);
    return sendMarketingError(reply, operationCode(method), {
      status: 405,
      // Laravel's MethodNotAllowedHttpException, word for word.
      message: `The ${method} method is not supported for this route. Supported methods: ${allowed.join(', ')}.`,
    });
  },
  protocol: (reply, status, detail) => {
    if (status === 500) return sendMarketingError(reply, 1001);
    if (status === 503) return sendMarketingError(reply, 1001, { status: 503, message: 'Service unavailable.' });
    const sentence = detail.charAt(0).toUpperCase() + detail.slice(1).replace(/[.!?]?$/, '.');
    return sendMarketingError(reply, 1002, { status, errors: { body: [sentence] } });
  },
  bruteForce: { counter: 'api', locked: (reply) => sendMarketingError(reply, 1100) },
};
