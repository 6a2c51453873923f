import { describe, expect, it } from 'vitest';
import { openToken, sealToken, type TokenPayload } from '../../src/domain/tokens.ts';

const SECRET = 'a'.repeat(64);
const NOW = Date.UTC(2025, 0, 1);
const ACCOUNT = '0193a5b2c3d40000a1b2c3d4';
const base: TokenPayload = {
  purpose: 'confirm',
  accountId: ACCOUNT,
  subscriberId: 4711,
  channelId: 12,
  exp: NOW + 3600_000,
};

describe('public-page tokens', () => {
  it('round-trips every field', () => {
    const token = sealToken(SECRET, base);
    expect(openToken(SECRET, token, 'confirm', NOW)).toEqual(base);
    const noChannel = sealToken(SECRET, { ...base, purpose: 'unsubscribe', channelId: null });
    expect(openToken(SECRET, noChannel, 'unsubscribe', NOW)).toEqual({
      ...base,
      purpose: 'unsubscribe',
      channelId: null,
    });
  });

  it('is base64url, short enough for a route parameter, and different every time', () => {
    const a = sealToken(SECRET, base);
    const b = sealToken(SECRET, base);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.length).toBeLessThanOrEqual(100);
    expect(a).not.toBe(b);
  });

  it('carries no id in clear text', () => {
    const token = sealToken(SECRET, { ...base, subscriberId: 123456789, channelId: 987654321 });
    const bytes = Buffer.from(token, 'base64url');
    for (const needle of ['123456789', '987654321', ACCOUNT, 'confirm']) {
      expect(token).not.toContain(needle);
      expect(bytes.toString('latin1')).not.toContain(needle);
    }
    expect(bytes.includes(Buffer.from(ACCOUNT, 'hex'))).toBe(false);
    const big = Buffer.alloc(6);
    big.writeUIntBE(123456789, 0, 6);
    expect(bytes.includes(big)).toBe(false);
  });

  it('refuses a token with any single character altered', () => {
    const token = sealToken(SECRET, base);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < token.length; i++) {
      const other = alphabet[(alphabet.indexOf(token[i]!) + 1 + (i % 7)) % 64]!;
      const altered = token.slice(0, i) + other + token.slice(i + 1);
      expect(openToken(SECRET, altered, 'confirm', NOW), `position ${i}`).toBeNull();
    }
  });

  it('refuses a token with any byte altered, truncated or extended', () => {
    const bytes = Buffer.from(sealToken(SECRET, base), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] = copy[i]! ^ 0x01;
      expect(openToken(SECRET, copy.toString('base64url'), 'confirm', NOW), `byte ${i}`).toBeNull();
    }
    expect(openToken(SECRET, bytes.subarray(0, bytes.length - 1).toString('base64url'), 'confirm', NOW)).toBeNull();
    expect(
      openToken(SECRET, Buffer.concat([bytes, Buffer.from([0])]).toString('base64url'), 'confirm', NOW),
    ).toBeNull();
  });

  it('refuses garbage without throwing', () => {
    for (const junk of ['', 'x', '!!!!', 'a'.repeat(5000), 'AQ', sealToken(SECRET, base) + '=', '../../etc/passwd']) {
      expect(openToken(SECRET, junk, 'confirm', NOW)).toBeNull();
    }
  });

  it('refuses a token made for another purpose', () => {
    const token = sealToken(SECRET, { ...base, purpose: 'preferences' });
    expect(openToken(SECRET, token, 'preferences', NOW)).not.toBeNull();
    for (const purpose of ['confirm', 'unsubscribe', 'view'] as const)
      expect(openToken(SECRET, token, purpose, NOW)).toBeNull();
  });

  it('refuses an expired token', () => {
    const token = sealToken(SECRET, { ...base, exp: NOW + 1000 });
    expect(openToken(SECRET, token, 'confirm', NOW)).not.toBeNull();
    expect(openToken(SECRET, token, 'confirm', NOW + 1000)).toBeNull();
    expect(openToken(SECRET, token, 'confirm', NOW + 86_400_000)).toBeNull();
  });

  it('refuses a token sealed with another secret', () => {
    const token = sealToken('b'.repeat(64), base);
    expect(openToken(SECRET, token, 'confirm', NOW)).toBeNull();
    expect(openToken('b'.repeat(64), token, 'confirm', NOW)).not.toBeNull();
  });

  it('carries account ids that are not hex', () => {
    const payload = { ...base, accountId: 'acct_Ü-1' };
    expect(openToken(SECRET, sealToken(SECRET, payload), 'confirm', NOW)).toEqual(payload);
  });
});
