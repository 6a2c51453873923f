import { describe, expect, it } from 'vitest';
import { signTrackingToken, verifyTrackingToken } from '../../src/domain/tracking-tokens.ts';

const SECRET = 'b'.repeat(64);
const MESSAGE = '0193a5b2c3d400001a2b3c4d';
const ACCOUNT = '0193a5b2c3d40000a1b2c3d4';

describe('tracking tokens', () => {
  it('round-trips open and click payloads', () => {
    const open = signTrackingToken(SECRET, { kind: 'open', messageId: MESSAGE, accountId: ACCOUNT });
    expect(verifyTrackingToken(SECRET, open, 'open')).toEqual({ kind: 'open', messageId: MESSAGE, accountId: ACCOUNT });
    const url = 'https://example.com/päth?a=1&b=2#frag';
    const click = signTrackingToken(SECRET, {
      kind: 'click',
      messageId: MESSAGE,
      accountId: ACCOUNT,
      linkIndex: 7,
      url,
    });
    expect(verifyTrackingToken(SECRET, click, 'click')).toEqual({
      kind: 'click',
      messageId: MESSAGE,
      accountId: ACCOUNT,
      linkIndex: 7,
      url,
    });
  });

  it('keeps non-hex ids', () => {
    const t = signTrackingToken(SECRET, { kind: 'open', messageId: 'msg-1', accountId: 'acct_A' });
    expect(verifyTrackingToken(SECRET, t, 'open')).toMatchObject({ messageId: 'msg-1', accountId: 'acct_A' });
  });

  it('is short base64url: an open token fits a route parameter', () => {
    const open = signTrackingToken(SECRET, { kind: 'open', messageId: MESSAGE, accountId: ACCOUNT });
    expect(open).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(open.length).toBeLessThanOrEqual(64);
    const click = signTrackingToken(SECRET, {
      kind: 'click',
      messageId: MESSAGE,
      accountId: ACCOUNT,
      linkIndex: 0,
      url: 'https://example.com/',
    });
    expect(click.length).toBeLessThanOrEqual(100);
  });

  it('refuses every single-byte alteration', () => {
    const token = signTrackingToken(SECRET, {
      kind: 'click',
      messageId: MESSAGE,
      accountId: ACCOUNT,
      linkIndex: 1,
      url: 'https://example.com/a',
    });
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i] = altered[i]! ^ 0x01;
      expect(verifyTrackingToken(SECRET, altered.toString('base64url'), 'click')).toBeNull();
    }
  });

  it('refuses a URL swapped for another (no open redirect)', () => {
    const token = signTrackingToken(SECRET, {
      kind: 'click',
      messageId: MESSAGE,
      accountId: ACCOUNT,
      linkIndex: 1,
      url: 'https://example.com/a',
    });
    const bytes = Buffer.from(token, 'base64url');
    const body = bytes.subarray(0, bytes.length - 16);
    const swapped = Buffer.concat([
      Buffer.from(body.toString('latin1').replace('example.com', 'evil.test.x'), 'latin1'),
      bytes.subarray(bytes.length - 16),
    ]);
    expect(verifyTrackingToken(SECRET, swapped.toString('base64url'), 'click')).toBeNull();
  });

  it('refuses another secret, the other kind, truncation, non-canonical and junk', () => {
    const open = signTrackingToken(SECRET, { kind: 'open', messageId: MESSAGE, accountId: ACCOUNT });
    expect(verifyTrackingToken('c'.repeat(64), open, 'open')).toBeNull();
    expect(verifyTrackingToken(SECRET, open, 'click')).toBeNull();
    expect(verifyTrackingToken(SECRET, open.slice(0, -2), 'open')).toBeNull();
    expect(verifyTrackingToken(SECRET, open + 'A', 'open')).toBeNull();
    for (const junk of ['', '!!!', 'a/b', 'x'.repeat(10_000)])
      expect(verifyTrackingToken(SECRET, junk, 'open')).toBeNull();
  });

  it('refuses to sign a link that is too long or not a link', () => {
    expect(() =>
      signTrackingToken(SECRET, { kind: 'click', messageId: MESSAGE, accountId: ACCOUNT, linkIndex: 0, url: '' }),
    ).toThrow(RangeError);
    expect(() =>
      signTrackingToken(SECRET, {
        kind: 'click',
        messageId: MESSAGE,
        accountId: ACCOUNT,
        linkIndex: 0,
        url: 'https://x/' + 'a'.repeat(2000),
      }),
    ).toThrow(RangeError);
  });
});
