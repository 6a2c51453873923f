import { describe, expect, it } from 'vitest';
import { parseHead, rewriteHead } from '../../src/domain/mime-head.ts';
import { prepareSubmittedMessage, rfc5322Date } from '../../src/domain/submitted-message.ts';

const NOW = new Date('2026-12-03T07:42:53Z');
const msg = (text: string) => Buffer.from(text, 'latin1');

describe('the head of a message', () => {
  it('splits folded fields, keeping their bytes, and finds the body', () => {
    const raw = msg('From: a@example.com\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody\r\n\r\nmore\r\n');
    const head = parseHead(raw);
    expect(head.fields.map((f) => [f.name, f.value])).toEqual([
      ['From', 'a@example.com'],
      ['Subject', 'one two'],
      ['X-Empty', ''],
    ]);
    expect(head.fields[1].raw).toBe('Subject: one\r\n two\r\n');
    expect(raw.subarray(head.bodyStart).toString()).toBe('body\r\n\r\nmore\r\n');
  });

  it('rewrites only what it is told to', () => {
    const raw = msg('A: 1\r\nB: 2\r\n\t2b\r\nC: 3\r\n\r\n\xe9body\r\n');
    const out = rewriteHead(raw, parseHead(raw), { drop: (f) => f.key === 'b', prepend: ['Z: 0'] });
    expect(out.toString('latin1')).toBe('Z: 0\r\nA: 1\r\nC: 3\r\n\r\n\xe9body\r\n');
  });

  it('handles a message that is all head, or all body, or uses bare LF', () => {
    const noBody = msg('A: 1\r\nB: 2\r\n');
    const h1 = parseHead(noBody);
    expect(h1.separated).toBe(false);
    expect(rewriteHead(noBody, h1, { prepend: ['Z: 0'] }).toString()).toBe('Z: 0\r\nA: 1\r\nB: 2\r\n');
    const noHead = msg('\r\nbody\r\n');
    expect(rewriteHead(noHead, parseHead(noHead), { prepend: ['Z: 0'] }).toString()).toBe('Z: 0\r\n\r\nbody\r\n');
    const lf = msg('A: 1\nB: 2\n\nbody\n');
    const h3 = parseHead(lf);
    expect(h3.eol).toBe('\n');
    expect(rewriteHead(lf, h3, { drop: (f) => f.key === 'a' }).toString()).toBe('B: 2\n\nbody\n');
  });
});

describe('preparing a submitted message', () => {
  const base = [
    'From: =?UTF-8?Q?Zo=C3=AB?= <zoe@shop.example.org>',
    'To: a@inbox.test',
    'Bcc: secret@inbox.test',
    'Subject: =?UTF-8?B?SGVsbG8gV8O2cmxk?=',
    'X-MT-Tracking: off',
    'X-MT-Campaign-Id: c1',
    'Message-ID: <abc@shop.example.org>',
  ];

  it('reads From, Subject and Message-ID, takes the options and removes them and Bcc', () => {
    const raw = msg(base.join('\r\n') + '\r\n\r\nbody\r\n');
    const m = prepareSubmittedMessage(raw, NOW);
    expect(m.from).toEqual({ email: 'zoe@shop.example.org', name: 'Zoë' });
    expect(m.subject).toBe('Hello Wörld');
    expect(m.messageId).toBe('abc@shop.example.org');
    expect(m.options).toEqual({ openTracking: false, clickTracking: false, campaignId: 'c1' });
    expect(m.mime.toString('latin1')).toBe(
      `Date: ${rfc5322Date(NOW)}\r\n` +
        'From: =?UTF-8?Q?Zo=C3=AB?= <zoe@shop.example.org>\r\nTo: a@inbox.test\r\n' +
        'Subject: =?UTF-8?B?SGVsbG8gV8O2cmxk?=\r\nMessage-ID: <abc@shop.example.org>\r\n\r\nbody\r\n',
    );
  });

  it('keeps a Date the message has and adds none', () => {
    const raw = msg('From: a@shop.example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nx');
    const m = prepareSubmittedMessage(raw, NOW);
    expect(m.mime.equals(raw)).toBe(true);
    expect(m.messageId).toBeNull();
    expect(rfc5322Date(NOW)).toBe('Thu, 03 Dec 2026 07:42:53 +0000');
  });

  it('refuses a message without exactly one usable From', () => {
    expect(() => prepareSubmittedMessage(msg('Subject: x\r\n\r\nx'), NOW)).toThrow('From is missing');
    expect(() => prepareSubmittedMessage(msg('From: a@b.example\r\nFrom: c@d.example\r\n\r\n'), NOW)).toThrow(
      'From is given more than once',
    );
    expect(() => prepareSubmittedMessage(msg('From: a@b.example, c@d.example\r\n\r\n'), NOW)).toThrow(
      'From must hold exactly one address',
    );
    expect(() => prepareSubmittedMessage(msg('From: nobody\r\n\r\n'), NOW)).toThrow('is not a valid email address');
  });
});
