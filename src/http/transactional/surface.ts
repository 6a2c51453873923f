import type { Surface } from '../surface.ts';
import { codeForReason, sendError } from './errors.ts';

export const transactionalSurface: Surface = {
  prefix: '/v1',
  validation: (reply, p) => sendError(reply, p.kind === 'required' ? '1400' : '1401', p.description),
  service: (reply, e) => sendError(reply, codeForReason(e.reason), e.detail),
  auth: (reply, failure, detail) =>
    sendError(reply, failure === 'permission' ? '1301' : failure === 'ip_not_allowed' ? '1302' : '1300', detail),
  notFound: (reply, detail) => sendError(reply, '1600', detail),
  methodNotAllowed: (reply, allowed) => {
    void reply.header('Allow', allowed.join(', '));
    return sendError(reply, '1605', `use ${allowed.join(' or ')} on this path`);
  },
  protocol: (reply, status, detail) =>
    sendError(reply, ({ 400: '1410', 413: '1413', 415: '1415', 500: '1500', 503: '1503' } as const)[status], detail),
  bruteForce: {
    counter: 'v1',
    locked: (reply, seconds) =>
      sendError(reply, '1304', `too many failed authentications from ${reply.request.ip}; retry after ${seconds} s`),
  },
};
