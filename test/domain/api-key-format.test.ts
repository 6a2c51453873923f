import { describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashSecret,
  keyFromAuthorization,
  parseApiKey,
  secretMatches,
} from '../../src/domain/api-key-format.ts';

const KEY = 'AbCd1234.0123456789abcdef0123456789abcdef';
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('parseApiKey', () => {
  it('splits a key into its public id and secret', () => {
    expect(parseApiKey(KEY)).toEqual({ id: 'AbCd1234', secret: '0123456789abcdef0123456789abcdef' });
    expect(parseApiKey(`  ${KEY}\t`)).toEqual({ id: 'AbCd1234', secret: '0123456789abcdef0123456789abcdef' });
  });

  it('parses what generateApiKey makes', () => {
    const { id, secret, key } = generateApiKey();
    expect(parseApiKey(key)).toEqual({ id, secret });
  });

  it.each([
    '',
    'AbCd1234',
    'AbCd1234.',
    '.0123456789abcdef0123456789abcdef',
    'AbCd123.0123456789abcdef0123456789abcdef', // id too short
    'AbCd12345.0123456789abcdef0123456789abcdef', // id too long
    'AbCd-234.0123456789abcdef0123456789abcdef', // id not alphanumeric
    'AbCd1234.0123456789abcdef0123456789abcde', // secret too short
    'AbCd1234.0123456789abcdef0123456789abcdef0', // secret too long
    'AbCd1234.0123456789ABCDEF0123456789ABCDEF', // secret is lower-case hex
    'AbCd1234.0123456789abcdefg123456789abcdef',
    'AbCd1234:0123456789abcdef0123456789abcdef',
    `${KEY}\nX`,
    `Bearer ${KEY}`,
  ])('refuses %j', (raw) => {
    expect(parseApiKey(raw)).toBeNull();
  });
});

describe('keyFromAuthorization', () => {
  it('reads Bearer, in any case and with extra spaces', () => {
    expect(keyFromAuthorization(`Bearer ${KEY}`)).toBe(KEY);
    expect(keyFromAuthorization(`bearer   ${KEY}  `)).toBe(KEY);
    expect(keyFromAuthorization(`BEARER ${KEY}`)).toBe(KEY);
  });

  it('reads a raw key', () => {
    expect(keyFromAuthorization(KEY)).toBe(KEY);
    expect(keyFromAuthorization(` ${KEY} `)).toBe(KEY);
  });

  it('reads the password of Basic, whatever the user name', () => {
    expect(keyFromAuthorization(basic(`anything:${KEY}`))).toBe(KEY);
    expect(keyFromAuthorization(basic(`:${KEY}`))).toBe(KEY);
    expect(keyFromAuthorization(`basic ${Buffer.from(`smtp_mt_injection:${KEY}`).toString('base64')}`)).toBe(KEY);
  });

  it('gives nothing for a missing header', () => {
    expect(keyFromAuthorization(undefined)).toBeNull();
    expect(keyFromAuthorization('')).toBeNull();
    expect(keyFromAuthorization('   ')).toBeNull();
  });

  it('never turns a wrong form into a valid key', () => {
    for (const header of [
      basic(`${KEY}:`),
      basic('user:other'),
      `Token ${KEY}`,
      'Bearer',
      `Bearer ${KEY} extra`,
      `Basic ${KEY}`,
    ]) {
      const value = keyFromAuthorization(header);
      expect(value === null || parseApiKey(value) === null, header).toBe(true);
    }
  });
});

describe('secretMatches', () => {
  const secret = '0123456789abcdef0123456789abcdef';
  const stored = hashSecret(secret);

  it('matches the secret its hash was made from', () => {
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(secret);
    expect(secretMatches(secret, stored)).toBe(true);
  });

  it('refuses another secret, and malformed stored hashes', () => {
    expect(secretMatches('0123456789abcdef0123456789abcdee', stored)).toBe(false);
    expect(secretMatches('', stored)).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
    expect(secretMatches(secret, stored.slice(0, 63))).toBe(false);
    expect(secretMatches(secret, 'z'.repeat(64))).toBe(false);
    expect(secretMatches(secret, '0'.repeat(64))).toBe(false);
  });
});
