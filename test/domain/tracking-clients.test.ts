import { describe, expect, it } from 'vitest';
import { isMachineFetch, truncateIp } from '../../src/domain/tracking-clients.ts';

describe('IP truncation', () => {
  it('keeps the /24 of IPv4 and the /48 of IPv6', () => {
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0');
    expect(truncateIp('::ffff:198.51.100.9')).toBe('198.51.100.0');
    expect(truncateIp('2001:db8:abcd:12:1:2:3:4')).toBe('2001:db8:abcd::');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(truncateIp('::1')).toBe('0:0:0::');
    expect(truncateIp('not an ip')).toBeNull();
    expect(truncateIp(null)).toBeNull();
  });
});

describe('machine fetches', () => {
  const human =
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  it('flags image proxies, scanners and missing agents', () => {
    for (const ua of [
      'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html',
      'curl/8.5.0',
      'python-requests/2.31',
      '',
      null,
    ]) {
      expect(isMachineFetch({ userAgent: ua, deliveredAt: null, at: 10_000 }), String(ua)).toBe(true);
    }
    expect(isMachineFetch({ userAgent: human, deliveredAt: null, at: 10_000 })).toBe(false);
  });
  it('flags a fetch within 2 s of delivery', () => {
    expect(isMachineFetch({ userAgent: human, deliveredAt: 10_000, at: 11_500 })).toBe(true);
    expect(isMachineFetch({ userAgent: human, deliveredAt: 10_000, at: 12_000 })).toBe(false);
  });
});
