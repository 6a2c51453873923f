import { describe, expect, it } from 'vitest';
import { interleaveAddresses, isNullMx, orderMxHosts } from '../../src/domain/mx-order.ts';
import { isThrottleReply } from '../../src/domain/throttle-replies.ts';
import { parseSmtpReply } from '../../src/domain/bounce-classes.ts';

describe('MX order (RFC 5321 §5.1)', () => {
  it('tries the lowest preference first, each host once, without the trailing dot', () => {
    const hosts = orderMxHosts([
      { exchange: 'backup.example.', priority: 20 },
      { exchange: 'MX1.example', priority: 10 },
      { exchange: 'mx1.example', priority: 30 },
    ]);
    expect(hosts).toEqual(['mx1.example', 'backup.example']);
  });

  it('puts hosts of equal preference in random order, every order possible', () => {
    const records = [10, 10, 10].map((priority, i) => ({ exchange: `mx${i}.example`, priority }));
    const seen = new Set<string>();
    let seed = 1;
    // A small deterministic generator: the shuffle must use it, and reach all six orders.
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 200; i++)
      seen.add(orderMxHosts([...records, { exchange: 'z.example', priority: 5 }], random).join(','));
    expect(seen.size).toBe(6);
    for (const order of seen) expect(order.startsWith('z.example,')).toBe(true);
  });

  it('knows a null MX (RFC 7505) and ignores one mixed with real hosts', () => {
    expect(isNullMx([{ exchange: '', priority: 0 }])).toBe(true);
    expect(isNullMx([{ exchange: '.', priority: 0 }])).toBe(true);
    expect(isNullMx([])).toBe(false);
    expect(
      isNullMx([
        { exchange: '', priority: 0 },
        { exchange: 'mx.example', priority: 10 },
      ]),
    ).toBe(false);
    expect(
      orderMxHosts([
        { exchange: '', priority: 0 },
        { exchange: 'mx.example', priority: 10 },
      ]),
    ).toEqual(['mx.example']);
  });

  it('alternates IPv6 and IPv4 addresses, IPv6 first', () => {
    expect(interleaveAddresses(['::1', '::2'], ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([
      '::1',
      '10.0.0.1',
      '::2',
      '10.0.0.2',
      '10.0.0.3',
    ]);
    expect(interleaveAddresses([], ['10.0.0.1'])).toEqual(['10.0.0.1']);
  });
});

describe('throttle replies', () => {
  it.each([
    '421 4.7.0 Too many connections from your IP',
    '421 Service not available, closing transmission channel',
    '451 4.7.28 Our system has detected an unusual rate of unsolicited mail',
    '452 Too many recipients received this hour',
    '451 Rate limit exceeded, try again later',
  ])('backs off on "%s"', (line) => {
    expect(isThrottleReply(parseSmtpReply(line))).toBe(true);
  });

  it.each([
    '450 4.7.1 Greylisted, please try again later',
    // One mailbox's own rate (Gmail's 4.2.1): that message waits, the domain does not.
    '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages',
    '451 4.3.0 Temporary local problem',
    '550 5.7.1 Too many connections (a permanent refusal is not a throttle)',
    '250 OK',
  ])('does not back off on "%s"', (line) => {
    expect(isThrottleReply(parseSmtpReply(line))).toBe(false);
  });
});
