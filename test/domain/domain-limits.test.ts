import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_LIMIT, limitFor, parseDomainLimits } from '../../src/domain/domain-limits.ts';

describe('POSTHORN_MX_DOMAIN_LIMITS', () => {
  it('has sensible defaults when unset', () => {
    const limits = parseDomainLimits('');
    expect(limitFor(limits, 'anything.example')).toEqual(DEFAULT_DOMAIN_LIMIT);
    expect(DEFAULT_DOMAIN_LIMIT).toEqual({ connections: 10, rate: null });
  });

  it('reads a default, shared entries and rates per second, minute and hour', () => {
    const limits = parseDomainLimits(
      ' *:connections=5 ; gmail.com googlemail.com:connections=20,rate=50/s;' +
        'yahoo.com:rate=300/m; slow.example.:rate=1000/h ',
    );
    expect(limitFor(limits, 'other.example')).toEqual({ connections: 5, rate: null });
    expect(limitFor(limits, 'GMAIL.com')).toEqual({ connections: 20, rate: { count: 50, perMs: 1000 } });
    expect(limitFor(limits, 'googlemail.com')).toEqual({ connections: 20, rate: { count: 50, perMs: 1000 } });
    // A setting an entry leaves out comes from "*".
    expect(limitFor(limits, 'yahoo.com')).toEqual({ connections: 5, rate: { count: 300, perMs: 60_000 } });
    expect(limitFor(limits, 'slow.example')).toEqual({ connections: 5, rate: { count: 1000, perMs: 3_600_000 } });
  });

  it('lets a domain turn the default rate off', () => {
    const limits = parseDomainLimits('*:rate=10/s; fast.example:rate=off');
    expect(limitFor(limits, 'fast.example').rate).toBeNull();
    expect(limitFor(limits, 'x.example').rate).toEqual({ count: 10, perMs: 1000 });
  });

  it.each([
    ['gmail.com', /needs the form/],
    [':connections=3', /names no domain/],
    ['gmail.com:connections=0', /connections must be a whole number from 1 to 1000/],
    ['gmail.com:connections=many', /connections must be/],
    ['gmail.com:rate=fast', /rate must look like 50\/s/],
    ['gmail.com:rate=5/d', /rate must look like/],
    ['gmail.com:burst=3', /unknown setting "burst"/],
    ['gmail..com:connections=3', /is not a domain name/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseDomainLimits(raw)).toThrow(message);
  });
});
