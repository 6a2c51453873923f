// The bulk MIME writer read back by independent parsers: mailparser for headers and bodies,
// libmime for encoded-words in extra headers, mailauth for a DKIM signature made over the output;
// and compared with what MailComposer (the composer it replaces for mailings) gives.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import libmime from 'libmime';
import MailComposer from 'nodemailer/lib/mail-composer';
// Typed by bench/lib/ambient.d.ts (mailauth ships no type declarations).
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { composeBulkMessage, type BulkMimeInput } from '../../src/delivery/bulk-mime.ts';
import { createSigner } from '../../src/delivery/dkim.ts';
import type { Address } from '../../src/domain/transmission-content.ts';

const LIST_UNSUBSCRIBE = `<https://news.example.com/p/unsubscribe/${'a1B2c3D4e5'.repeat(33)}>, <mailto:unsubscribe+0192f3a4@bounces.example.com?subject=unsubscribe>`;

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Weekly</title></head><body style="font-family:sans-serif">
<h1>Hallo Jürgen Müller!</h1>
<p>${'Neu diese Woche in Köln: warme Mäntel, weiche Schals und Stiefel für jedes Wetter. '.repeat(8)}</p>
<p><a href="https://posthorn.example.com/t/c/${'Zz9'.repeat(60)}?u=1&amp;v=2">Zum Angebot →</a> 🎉</p>
.a line starting with a dot
--a line starting with two hyphens
trailing spaces   
trailing tab\t
<p style="font-size:small">Abmelden: <a href="https://posthorn.example.com/p/unsubscribe/abc=def==">hier</a></p>
</body></html>`;

const TEXT = `Hallo Jürgen Müller!\r\n\r\n${'Neu diese Woche in Köln: warme Mäntel, weiche Schals und Stiefel. '.repeat(5)}\n\nZum Angebot: https://posthorn.example.com/t/c/${'Zz9'.repeat(60)}\n1 + 1 = 2, a=b, ==\n.dot\nend with spaces  \n漢字 and 🎉`;

const base: BulkMimeInput = {
  from: { email: 'news@shop.example.com', name: 'Bücher & Söhne' },
  to: { email: 'juergen.mueller@example.org', name: 'Jürgen "Jogi" Müller' },
  replyTo: [{ email: 'help@shop.example.com', name: `O'Brien "Help" \\ Desk` }, { email: 'plain@shop.example.com' }],
  subject: 'Grüße 🎉 aus Köln, Jürgen: this week’s news',
  messageId: '0192f3a4-5b6c-7d8e-9f00-112233445566@shop.example.com',
  date: new Date('2026-11-25T18:09:18Z'),
  headers: [
    { name: 'List-Id', value: 'Weekly news <channel-7.acc_1.shop.example.com>' },
    { name: 'List-Unsubscribe', value: LIST_UNSUBSCRIBE },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    { name: 'Precedence', value: 'bulk' },
    { name: 'Feedback-ID', value: 'mailing-42:acc_1:bulk:posthorn' },
    { name: 'X-Campaign-Note', value: `Grüße an alle Abonnenten, ${'und noch mehr Text '.repeat(12)}zum Schluss` },
  ],
  html: HTML,
  text: TEXT,
};

const compose = (overrides: Partial<BulkMimeInput> = {}) => composeBulkMessage({ ...base, ...overrides });
const headBlock = (raw: Buffer) => raw.toString('utf8').split('\r\n\r\n')[0]!;
const lf = (s: string) => s.replace(/\r\n/g, '\n');

function addresses(value: AddressObject | AddressObject[] | undefined) {
  return (Array.isArray(value) ? value : value ? [value] : [])
    .flatMap((a) => a.value)
    .map((a) => ({ address: a.address, name: a.name }));
}
const expectedAddresses = (list: Address[]) => list.map((a) => ({ address: a.email, name: a.name ?? '' }));

/** The value of a header as written (unfolded), with encoded-words decoded. */
function headerValue(parsed: ParsedMail, name: string): string | undefined {
  const line = parsed.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  if (line === undefined) return undefined;
  return libmime.decodeWords(
    line
      .replace(/\r\n(?=[ \t])/g, '')
      .slice(name.length + 1)
      .trim(),
  );
}

describe('composeBulkMessage', () => {
  it('writes a message a parser reads back: addresses, subject, ids, date, every header, both bodies', async () => {
    const raw = compose();
    const parsed = await simpleParser(raw);
    expect(addresses(parsed.from)).toEqual(expectedAddresses([base.from]));
    expect(addresses(parsed.to)).toEqual(expectedAddresses([base.to]));
    expect(addresses(parsed.replyTo)).toEqual(expectedAddresses(base.replyTo));
    expect(parsed.subject).toBe(base.subject);
    expect(parsed.messageId).toBe(`<${base.messageId}>`);
    expect(parsed.date?.toISOString()).toBe(base.date.toISOString());
    for (const h of base.headers) expect(headerValue(parsed, h.name), h.name).toBe(h.value);
    expect(LIST_UNSUBSCRIBE.length).toBeGreaterThanOrEqual(400);
    expect(parsed.html).toBe(lf(HTML));
    expect(lf(parsed.text!)).toBe(lf(TEXT));
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.attachments).toEqual([]);
  });

  it('puts the headers in the agreed order and writes the date as RFC 5322 in UTC', () => {
    const head = headBlock(compose());
    const names = head
      .split('\r\n')
      .filter((l) => !/^[ \t]/.test(l))
      .map((l) => l.slice(0, l.indexOf(':')));
    expect(names).toEqual([
      'From',
      'To',
      'Reply-To',
      'Subject',
      'Message-ID',
      'Date',
      ...base.headers.map((h) => h.name),
      'MIME-Version',
      'Content-Type',
    ]);
    expect(head).toContain('\r\nDate: Wed, 25 Nov 2026 18:09:18 +0000\r\n');
    expect(head).toContain('\r\nMessage-ID: <0192f3a4-5b6c-7d8e-9f00-112233445566@shop.example.com>\r\n');
    expect(headBlock(compose({ replyTo: [] }))).not.toContain('Reply-To:');
  });

  it('writes the text part first, then the HTML part, both quoted-printable UTF-8', () => {
    const message = compose().toString('utf8');
    const plain = message.indexOf(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
    );
    const html = message.indexOf(
      'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
    );
    expect(plain).toBeGreaterThan(0);
    expect(html).toBeGreaterThan(plain);
    expect(/[^\x00-\x7f]/.test(message), 'non-ASCII in the message').toBe(false); // 7-bit throughout
  });

  it.each([
    ['HTML only', { text: null }, 'text/html'],
    ['text only', { html: null }, 'text/plain'],
  ] as const)('writes a single part for %s', async (_name, overrides, type) => {
    const raw = compose(overrides);
    const head = headBlock(raw);
    expect(head).toContain(`\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable`);
    expect(head).not.toContain('multipart');
    const parsed = await simpleParser(raw);
    if (type === 'text/html') expect(parsed.html).toBe(lf(HTML));
    else {
      expect(lf(parsed.text!)).toBe(lf(TEXT));
      expect(parsed.html).toBe(false);
    }
    expect(parsed.subject).toBe(base.subject);
  });

  it('refuses a message without a body', () => {
    expect(() => compose({ html: null, text: null })).toThrow(/HTML or a text body/);
  });

  it('keeps every line within 998 and header lines within 78 wherever there is whitespace to fold at', () => {
    const longAscii = 'A weekly digest '.repeat(20).trim();
    for (const raw of [compose(), compose({ subject: longAscii }), compose({ subject: 'Ünïcödé '.repeat(30) })]) {
      const lines = raw.toString('utf8').split('\r\n');
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(998);
      for (const line of headBlock(raw).split('\r\n')) {
        if (line.length <= 78) continue;
        // Longer only when one word fills it: nothing to fold at but the space after "Name:".
        expect(line.replace(/^[\w-]+: /, '').trim(), line).not.toMatch(/[ \t]/);
      }
    }
  });

  it('folds List-Unsubscribe after the comma and keeps each URL whole', async () => {
    const head = headBlock(compose());
    const [url, mailto] = LIST_UNSUBSCRIBE.split(', ');
    expect(head).toContain(`\r\nList-Unsubscribe: ${url},\r\n ${mailto}\r\n`);
    const parsed = await simpleParser(compose());
    expect((parsed.headers.get('list') as { unsubscribe?: unknown } | undefined)?.unsubscribe).toMatchObject({
      url: url!.slice(1, -1),
      mail: mailto!.slice(8, -1),
    });
  });

  it.each([
    ['a long ASCII subject', 'Your weekly digest: '.repeat(15).trim()],
    ['a long non-ASCII subject', 'Grüße aus Köln und Düsseldorf 🎉 '.repeat(8).trim()],
    ['a subject that looks like an encoded-word', 'Use code =?utf-8?q?SAVE?= today'],
    ['a subject with quotes and a backslash', 'The "best" \\ deal'],
    ['one 1,200-character word', 'x'.repeat(1200)],
    ['CJK', '今週のニュースをお届けします、ユルゲンさん'],
    ['an empty subject', ''],
  ])('round-trips %s', async (_name, subject) => {
    const raw = compose({ subject });
    for (const line of raw.toString('utf8').split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect((await simpleParser(raw)).subject ?? '').toBe(subject);
  });

  it('encodes non-ASCII display names and quotes ASCII ones with specials', async () => {
    const head = headBlock(
      compose({ from: { email: 'a@example.com', name: 'Shop, Inc.' }, to: { email: 'b@example.org', name: 'Zoë' } }),
    );
    expect(head).toContain('From: "Shop, Inc." <a@example.com>\r\n');
    expect(head).toMatch(/\r\nTo: =\?UTF-8\?[QB]\?[^?]+\?= <b@example\.org>\r\n/);
    const plain = headBlock(
      compose({ from: { email: 'a@example.com', name: 'Bench Shop' }, to: { email: 'b@example.org' } }),
    );
    expect(plain).toMatch(/^From: Bench Shop <a@example\.com>\r\nTo: b@example\.org\r\n/);
  });

  it('punycodes an internationalised domain', async () => {
    const raw = compose({ from: { email: 'news@bücher.example', name: 'Bücher' } });
    expect(headBlock(raw)).toMatch(/^From: \S+ <news@xn--bcher-kva\.example>\r\n/);
    expect(addresses((await simpleParser(raw)).from)).toEqual([{ address: 'news@bücher.example', name: 'Bücher' }]);
  });

  it.each<[string, Partial<BulkMimeInput>]>([
    ['subject', { subject: 'Hello\r\nBcc: victim@example.com' }],
    ['subject (LF)', { subject: 'Hello\nthere' }],
    ['from name', { from: { email: 'a@example.com', name: 'Evil\rName' } }],
    ['to address', { to: { email: 'b@example.org\r\nBcc: x@example.com' } }],
    ['reply-to name', { replyTo: [{ email: 'c@example.com', name: 'x\ny' }] }],
    ['message id', { messageId: 'id@example.com\r\nX-Evil: 1' }],
    ['header value', { headers: [{ name: 'List-Id', value: 'x\r\nBcc: y@example.com' }] }],
    ['header name', { headers: [{ name: 'X-Bad\r\nBcc', value: 'y' }] }],
  ])('throws on a line break in the %s', (_name, overrides) => {
    expect(() => compose(overrides)).toThrow(/line break|invalid header name/);
  });

  it('rejects header names that are not field names', () => {
    expect(() => compose({ headers: [{ name: 'Bad Name', value: 'x' }] })).toThrow(/invalid header name/);
    expect(() => compose({ headers: [{ name: 'Bad:Name', value: 'x' }] })).toThrow(/invalid header name/);
  });

  it('derives the boundary from the Message-ID: no random bytes, and "=_" that QP bodies never contain', () => {
    const boundary = (raw: Buffer) => /boundary="([^"]+)"/.exec(raw.toString('utf8'))![1]!;
    const a = compose();
    expect(compose().equals(a)).toBe(true);
    expect(boundary(a)).toContain('=_');
    expect(boundary(a).length).toBeLessThanOrEqual(70);
    expect(boundary(compose({ messageId: 'other@shop.example.com' }))).not.toBe(boundary(a));
    // Bodies that try hard to contain it still cannot.
    const sneaky = `--${boundary(a)}\n--${boundary(a)}--\n`;
    const raw = compose({ html: sneaky, text: sneaky }).toString('utf8');
    expect(raw.split(`\r\n--${boundary(a)}\r\n`)).toHaveLength(3);
  });

  it('parses the same as MailComposer for the same message', async () => {
    const composer = new MailComposer({
      from: { name: base.from.name!, address: base.from.email },
      to: { name: base.to.name!, address: base.to.email },
      replyTo: base.replyTo.map((a) => (a.name ? { name: a.name, address: a.email } : a.email)),
      subject: base.subject,
      html: HTML,
      text: TEXT,
      messageId: `<${base.messageId}>`,
      date: base.date,
      headers: base.headers.map((h) => ({ key: h.name, value: h.value })),
    });
    const theirs = await simpleParser(await composer.compile().build());
    const ours = await simpleParser(compose());
    expect(ours.subject).toBe(theirs.subject);
    expect(addresses(ours.from)).toEqual(addresses(theirs.from));
    expect(addresses(ours.to)).toEqual(addresses(theirs.to));
    expect(addresses(ours.replyTo)).toEqual(addresses(theirs.replyTo));
    expect(ours.messageId).toBe(theirs.messageId);
    expect(ours.date?.getTime()).toBe(theirs.date?.getTime());
    expect(ours.html).toBe(theirs.html);
    expect(ours.text).toBe(theirs.text);
    for (const h of base.headers) expect(headerValue(ours, h.name), h.name).toBe(headerValue(theirs, h.name));
  });

  it('is accepted by the DKIM signer: an independent verifier passes the signed message', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'der' },
    });
    const signer = createSigner({ domain: 'shop.example.com', selector: 'sel', privateKeyPem: privateKey });
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === 'sel._domainkey.shop.example.com')
        return [[`v=DKIM1; k=rsa; p=${publicKey.toString('base64')}`]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const signed = await signer(compose());
    const result = (await dkimVerify(signed, { resolver })).results[0];
    expect(result.status.result, JSON.stringify(result.status)).toBe('pass');
    // The signature covers the bulk-mail headers.
    expect((result as { signingHeaders?: { keys?: string } }).signingHeaders?.keys).toMatch(/list-unsubscribe/i);
  });
});
