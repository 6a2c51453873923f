import { describe, expect, it } from 'vitest';
import {
  mxAllowedByPolicy,
  mxMatchesPattern,
  parseStsPolicy,
  parseStsRecord,
} from '../../src/domain/mta-sts-policy.ts';

describe('MTA-STS TXT record (RFC 8461 §3.1)', () => {
  it('reads the policy id', () => {
    expect(parseStsRecord(['v=STSv1; id=20160831085700Z;'])).toBe('20160831085700Z');
    expect(parseStsRecord(['v=spf1 -all', 'v=STSv1;id=abc123'])).toBe('abc123');
  });

  it('treats no record, several records or a bad id as no policy', () => {
    expect(parseStsRecord([])).toBeNull();
    expect(parseStsRecord(['v=STSv1; id=a', 'v=STSv1; id=b'])).toBeNull();
    expect(parseStsRecord(['v=STSv1; id=not valid!'])).toBeNull();
    expect(parseStsRecord(['v=STSv1;'])).toBeNull();
    expect(parseStsRecord(['v=STSv10; id=a'])).toBeNull();
  });
});

describe('MTA-STS policy file (RFC 8461 §3.2)', () => {
  it('parses the example of the RFC (CRLF or LF, unknown keys ignored)', () => {
    const policy = parseStsPolicy(
      [
        'version: STSv1',
        'mode: enforce',
        'mx: mail.example.com',
        'mx: *.example.net',
        'mx: backupmx.example.com',
        'max_age: 604800',
        'extension: x',
        '',
      ].join('\r\n'),
    );
    expect(policy).toEqual({
      mode: 'enforce',
      mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
      maxAgeSeconds: 604800,
    });
    expect(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 86400\n')).toEqual({
      mode: 'none',
      mx: [],
      maxAgeSeconds: 86400,
    });
  });

  it('caps max_age at a year', () => {
    expect(parseStsPolicy('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 99999999\n').maxAgeSeconds).toBe(
      31_557_600,
    );
  });

  it.each([
    ['mode: enforce\nmx: a.example\nmax_age: 1', /version STSv1/],
    ['version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1', /unknown policy mode/],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: soon', /max_age/],
    ['version: STSv1\nmode: enforce\nmax_age: 60', /needs mx lines/],
    ['version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 60', /bad mx pattern/],
    ['<html>not a policy</html>', /without a colon/],
  ])('refuses %j', (text, message) => {
    expect(() => parseStsPolicy(text)).toThrow(message);
  });
});

describe('MX patterns (RFC 8461 §4.1)', () => {
  it('matches exactly, case-insensitively, with or without the trailing dot', () => {
    expect(mxMatchesPattern('Mail.Example.com.', 'mail.example.com')).toBe(true);
    expect(mxMatchesPattern('mail2.example.com', 'mail.example.com')).toBe(false);
  });

  it('lets a wildcard stand for exactly one leftmost label', () => {
    expect(mxMatchesPattern('mx1.example.net', '*.example.net')).toBe(true);
    expect(mxMatchesPattern('example.net', '*.example.net')).toBe(false);
    expect(mxMatchesPattern('a.b.example.net', '*.example.net')).toBe(false);
  });

  it('allows an exchanger when any pattern of the policy matches', () => {
    const policy = { mode: 'enforce' as const, mx: ['mail.example.com', '*.example.net'], maxAgeSeconds: 60 };
    expect(mxAllowedByPolicy('x.example.net', policy)).toBe(true);
    expect(mxAllowedByPolicy('evil.example.org', policy)).toBe(false);
  });
});
