// The contract test is only worth something if a broken shape fails it: these bodies break the
// contract the way a regression would (a string id, an ISO date, a missing or renamed field, the
// wrong envelope) and each must be refused, while the right shape passes.
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from './mailtarget-schemas.ts';
import { contractValidator } from './contract-validator.ts';

const validatorFor = contractValidator();
const check = (method: string, path: string, body: unknown) => {
  const op = OPERATIONS.find((o) => o.method === method && o.path === path)!;
  return validatorFor(op.response)(body);
};

const domainDetail = {
  id: 7,
  domain: 'example.com',
  assignment: 'PRIMARY',
  status: ['Verified'],
  types: ['sending'],
  spfHostname: 'example.com',
  spfValue: 'v=spf1 include:x ~all',
  spfVerified: true,
  dkimHostname: 's._domainkey.example.com',
  dkimSelector: 's',
  dkimValue: 'v=DKIM1; k=rsa; p=AAAA',
  dkimPublicKey: 'AAAA',
  dkimVerified: true,
  cnameHostname: 'bounces.example.com',
  cnameValue: 'posthorn.example.net',
  cnameVerified: false,
  createdAt: 1_700_000_000_000,
  note: null, // not in the contract: anything goes
};

describe('the contract validator', () => {
  it('accepts the contract shape, with extra fields', () => {
    expect(check('GET', '/domain/sending/{id}', domainDetail)).toBe(true);
    expect(check('PUT', '/domain/sending/{id}/verify-txt', [domainDetail])).toBe(true);
    expect(check('POST', '/template', true)).toBe(true);
    expect(check('DELETE', '/domain/sending/{id}', 'Sending domain deleted')).toBe(true);
  });

  it('refuses a string or float where the contract has an integer', () => {
    expect(check('GET', '/domain/sending/{id}', { ...domainDetail, id: '7' })).toBe(false);
    expect(check('GET', '/domain/sending/{id}', { ...domainDetail, id: 7.5 })).toBe(false);
    expect(check('GET', '/domain/sending/{id}', { ...domainDetail, createdAt: '2024-01-01T00:00:00.000Z' })).toBe(
      false,
    );
    expect(check('GET', '/permission', [{ id: 'send_api', name: 'Send via API', detail: 'x' }])).toBe(false);
  });

  it('refuses a missing or renamed field, a null string and a wrong nesting', () => {
    const { dkimSelector: _gone, ...withoutSelector } = domainDetail;
    expect(check('GET', '/domain/sending/{id}', withoutSelector)).toBe(false);
    expect(check('GET', '/domain/sending/{id}', { ...domainDetail, status: 'Verified' })).toBe(false);
    expect(check('POST', '/layang/transmissions', { id: 'abc' })).toBe(false);
    expect(check('GET', '/template', { count: 1, data: [{ id: 'x', name: 'n', createdAt: 1, updatedAt: null }] })).toBe(
      false,
    );
    // The old list shapes: an object instead of the contract's array, data instead of sendingDomain.
    expect(check('GET', '/domain/sending', { count: 0, data: [] })).toBe(false);
    expect(check('GET', '/domain/sending', [{ count: 0, data: [] }])).toBe(false);
    expect(check('GET', '/analytic/summary/breakdown', { groupBy: 'DAY', data: [] })).toBe(false);
    expect(check('POST', '/template', { id: 'x', name: 'n' })).toBe(false);
  });

  it('allows only the documented omissions', () => {
    const { dkimPrivateKey: _p, ...rest } = { ...domainDetail, dkimPrivateKey: 'secret' };
    expect(check('GET', '/domain/sending/{id}', rest)).toBe(true);
    expect(
      check('GET', '/analytic/transmission/{id}/events', {
        events: [{ type: 'injection', recipient: 'a@b.c', subject: 's', friendlyFrom: 'f@b.c', timestamp: 1 }],
      }),
    ).toBe(true);
    expect(
      check('GET', '/analytic/transmission/{id}/events', {
        events: [
          { type: 'bounce', recipient: 'a@b.c', subject: 's', friendlyFrom: 'f@b.c', reason: null, timestamp: 1 },
        ],
      }),
    ).toBe(false);
  });
});
