// Tracking a message submitted over SMTP rewrites its HTML parts and nothing else.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer';
import { simpleParser } from 'mailparser';
import { rewriteHtmlParts } from '../../src/delivery/build-submitted-message.ts';

const mark = (html: string) => html.replace('</p>', '</p><img src="https://t.example/o">');

describe('rewriteHtmlParts', () => {
  it('rewrites the HTML part of a multipart message and leaves the text and attachments byte for byte', async () => {
    const attachment = randomBytes(5000);
    const raw = await new MailComposer({
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'Hi',
      text: 'Plain ünïcode text',
      html: '<p>Hello ünïcode, <a href="https://example.com/x">link</a></p>',
      attachments: [{ filename: 'a.bin', content: attachment }],
    })
      .compile()
      .build();
    const out = await rewriteHtmlParts(raw, mark);
    const parsed = await simpleParser(out);
    expect((parsed.html as string).trimEnd()).toBe(
      '<p>Hello ünïcode, <a href="https://example.com/x">link</a></p><img src="https://t.example/o">',
    );
    expect(parsed.text).toBe('Plain ünïcode text');
    expect(parsed.attachments[0].content.equals(attachment)).toBe(true);
    // Every part other than the HTML one is the same text.
    const htmlPart = (s: string) => s.replace(/Content-Type: text\/html[^]*?(?=\r\n----)/, '');
    expect(htmlPart(out.toString('latin1'))).toBe(htmlPart(raw.toString('latin1')));
  });

  it('keeps the bytes of a latin1 HTML part that it does not touch', async () => {
    const raw = Buffer.from(
      'From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=iso-8859-1\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\n<p>caf\xe9</p>\r\n',
      'latin1',
    );
    const out = await rewriteHtmlParts(raw, mark);
    const parsed = await simpleParser(out);
    expect(parsed.html).toContain('<p>café</p><img src="https://t.example/o">');
  });

  it('leaves a message without HTML as it was', async () => {
    const raw = Buffer.from('From: a@example.com\r\nSubject: x\r\n\r\nplain body\r\n.. dots\r\n', 'latin1');
    expect((await rewriteHtmlParts(raw, mark)).equals(raw)).toBe(true);
  });
});
