import { describe, expect, it } from 'vitest';
import { hasLineBreak, isOwnedHeader, isValidEmail } from '../../src/domain/email-address.ts';

describe('isValidEmail', () => {
  it.each([
    'a@example.com',
    'first.last@example.co.uk',
    "o'brien+tag@mail.example.org",
    'user_1-x@sub-domain.example.io',
    'x@xn--p1ai.xn--p1ai',
    `${'l'.repeat(64)}@example.com`,
  ])('accepts %s', (email) => {
    expect(isValidEmail(email)).toBe(true);
  });

  it.each([
    '',
    'plain',
    '@example.com',
    'a@',
    'a@b@example.com',
    'a@localhost',
    'a..b@example.com',
    '.a@example.com',
    'a.@example.com',
    'a b@example.com',
    '"quoted"@example.com',
    'a@[127.0.0.1]',
    'a@1.2.3.4',
    'a@-example.com',
    'a@example-.com',
    'a@example..com',
    'a@example.com.',
    'a@exa_mple.com',
    ' a@example.com',
    'a@example.com\n',
    'a@example.com\r\nBcc: x@example.net',
    `${'l'.repeat(65)}@example.com`,
    `a@${'d'.repeat(64)}.com`,
    `a@${'abcdefghi.'.repeat(25)}com`,
  ])('refuses %j', (email) => {
    expect(isValidEmail(email)).toBe(false);
  });
});

describe('hasLineBreak', () => {
  it('finds CR, LF and NUL anywhere', () => {
    for (const value of ['a\rb', 'a\nb', 'a\r\nb', '\n', 'end\r', 'nul\0byte'])
      expect(hasLineBreak(value), JSON.stringify(value)).toBe(true);
  });

  it('passes single-line text, tabs and non-ASCII', () => {
    for (const value of ['', 'Hello, world', 'tab\there', 'Grüße ☃', 'a\\nb'])
      expect(hasLineBreak(value), JSON.stringify(value)).toBe(false);
  });
});

describe('isOwnedHeader', () => {
  it('covers the headers Posthorn writes, in any case', () => {
    for (const name of [
      'From',
      'to',
      'CC',
      'Bcc',
      'Subject',
      'Message-ID',
      'message-id',
      'Date',
      'MIME-Version',
      'Content-Type',
      'content-transfer-encoding',
      'Content-Disposition',
      'DKIM-Signature',
      'Return-Path',
      'Sender',
      'Reply-To',
    ]) {
      expect(isOwnedHeader(name), name).toBe(true);
    }
  });

  it('leaves custom headers to the client', () => {
    for (const name of [
      'X-Order-Id',
      'X-Subject',
      'List-Unsubscribe',
      'In-Reply-To',
      'References',
      'Precedence',
      'X-Content-Type-Hint',
      'Mimecast-X',
    ]) {
      expect(isOwnedHeader(name), name).toBe(false);
    }
  });
});
