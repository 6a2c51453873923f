import type { Surface } from '../surface.ts';
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

export const marketingSurface: Surface = {
  prefix: '/api/v1',
  validation: (reply, p) => sendMarketingError(reply, 1002, { errors: { [p.field]: [p.description] } }),
  service: (reply, e) => {
    const m = REASON_CODES[e.reason] ?? { code: 1000 };
    const field = e.field ?? (m.code === 1002 ? 'request' : undefined);
    return sendMarketingError(reply, m.code, {
      status: m.status,
      message: m.code === 1002 ? undefined : e.detail,
      errors: field ? { [field]: [e.detail] } : [],
    } as never);
  },
  auth: (reply, failure, detail) =>
    failure === 'permission' || failure === 'ip_not_allowed'
      ? sendMarketingError(reply, 401, { status: 403, message: detail })
      : sendMarketingError(reply, 401),
  notFound: (reply, detail) => sendMarketingError(reply, 1020, { errors: { resource: [detail] } }),
  methodNotAllowed: (reply, allowed) => {
    void reply.header('Allow', allowed.join(', '));
    return sendMarketingError(reply, 1020, {
      status: 405,
      message: `Method not allowed; use ${allowed.join(' or ')}.`,
    });
  },
  protocol: (reply, status, detail) => {
    if (status === 500) return sendMarketingError(reply, 1001);
    if (status === 503) return sendMarketingError(reply, 1001, { status: 503, message: 'Service unavailable.' });
    return sendMarketingError(reply, 1002, { status, errors: { body: [detail] } });
  },
};
