// The delivery engine end to end: a real Posthorn delivers through its relay transport to a real
// SMTP server, and every assertion reads what actually arrived there (or what the API reports).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressObject } from 'mailparser';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** A port nothing listens on: bound, then closed again. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function relayEnv(relays: string, extra: Record<string, string> = {}): Record<string, string> {
  return { POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: relays, POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false', ...extra };
}

let unique = 0;
/** A recipient address of its own per call, so tests sharing one sink never see each other's mail. */
function address(tag: string): string {
  return `${tag}-${++unique}-${randomBytes(3).toString('hex')}@example.org`;
}

async function send(server: TestServer, body: Record<string, unknown>): Promise<string> {
  const res = await server.api.post('/v1/layang/transmissions', {
    from: { email: 'sender@example.com' },
    subject: 'Hello',
    bodyText: 'Hello',
    ...body,
  });
  expect(res.status, res.text).toBe(200);
  return res.body.transmissionId as string;
}

async function eventsOf(server: TestServer, transmissionId: string): Promise<any[]> {
  const res = await server.api.get(`/v1/analytic/transmission/${transmissionId}/events`);
  expect(res.status).toBe(200);
  return res.body.events;
}

const FINAL = new Set(['delivered', 'bounced', 'suppressed', 'captured', 'cancelled']);

/** Waits until every message of a transmission has a final status (deferred is not final). */
async function waitForTransmission(api: ApiClient, transmissionId: string, timeoutMs = 10_000): Promise<any[]> {
  return waitFor(
    async () => {
      const res = await api.get(`/v1/messages?transmissionId=${transmissionId}&size=1000`);
      const data = res.body.data as any[];
      return data.length > 0 && data.every((m) => FINAL.has(m.status)) ? data : null;
    },
    timeoutMs,
    `transmission ${transmissionId} to finish`,
  );
}

function receivedBy(sink: SmtpSink, recipient: string): ReceivedMessage[] {
  return sink.messages.filter((m) => m.to.includes(recipient));
}

async function arrival(sink: SmtpSink, recipient: string): Promise<ReceivedMessage> {
  const [m] = await waitFor(
    async () => {
      const got = receivedBy(sink, recipient);
      return got.length ? got : null;
    },
    10_000,
    `a message for ${recipient}`,
  );
  return m!;
}

/** The header block of a raw message, as bytes (everything before the first empty line). */
function headerBlock(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end < 0 ? raw.length : end);
}

/** Decodes RFC 2047 encoded words (mailparser leaves headers it does not know encoded). */
function decodeWords(value: string): string {
  return value.replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=\s*/gi, (_all, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text
            .replace(/_/g, ' ')
            .replace(/=([0-9A-F]{2})/gi, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? ''));
}

interface MimePart {
  type: string;
  children: MimePart[];
}

/** The tree of content types of a raw MIME message (only what the structure assertions need). */
function mimeTree(raw: string): MimePart {
  const split = raw.search(/\r?\n\r?\n/);
  const head = (split < 0 ? raw : raw.slice(0, split)).replace(/\r?\n[ \t]+/g, ' ');
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const contentType = /^content-type:\s*([^\r\n]*)/im.exec(head)?.[1] ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (!type.startsWith('multipart/')) return { type, children: [] };
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)![1]!;
  const delimiter = `--${boundary}`;
  const sections = body.split(
    new RegExp(`^${delimiter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?$`, 'm'),
  );
  // The first section is the preamble, the last the epilogue.
  const parts = sections.slice(1, -1).map((s) => mimeTree(s.replace(/^\r?\n/, '')));
  return { type, children: parts };
}

function describeTree(p: MimePart): string {
  return p.children.length ? `${p.type}[${p.children.map(describeTree).join(', ')}]` : p.type;
}

describe(`delivery through an SMTP relay (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;

  beforeAll(async () => {
    sink = await startSmtpSink();
    // A one-second lease, so that a relay slower than the lease is quick to arrange.
    server = await startTestServer(
      relayEnv(sink.url, { POSTHORN_RETRY_SCHEDULE: '200ms', POSTHORN_LEASE_SECONDS: '1' }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  describe('MIME structure', () => {
    it('html and text become multipart/alternative', async () => {
      const to = address('alt');
      await send(server, { to: [{ email: to }], bodyHtml: '<p>Hello <b>HTML</b></p>', bodyText: 'Hello text' });
      const m = await arrival(sink, to);
      expect(describeTree(mimeTree(m.raw.toString('latin1')))).toBe('multipart/alternative[text/plain, text/html]');
      expect(m.parsed.text?.trim()).toBe('Hello text');
      expect(m.parsed.html).toContain('<p>Hello <b>HTML</b></p>');
    });

    it('only HTML still gets a text part derived from it', async () => {
      const to = address('derived');
      await send(server, {
        to: [{ email: to }],
        bodyText: undefined,
        bodyHtml: '<h1>Title</h1><p>Some <a href="https://example.com/x">link</a></p>',
      });
      const m = await arrival(sink, to);
      expect(describeTree(mimeTree(m.raw.toString('latin1')))).toBe('multipart/alternative[text/plain, text/html]');
      expect(m.parsed.text).toContain('Some link [https://example.com/x]');
      expect(m.parsed.text).not.toContain('<p>');
    });

    it('attachments make multipart/mixed around the alternative, with the bytes unchanged', async () => {
      const to = address('mixed');
      const binary = randomBytes(5000);
      await send(server, {
        to: [{ email: to }],
        bodyHtml: '<p>See attached</p>',
        bodyText: 'See attached',
        attachments: [
          { filename: 'random.bin', mimeType: 'application/octet-stream', value: binary.toString('base64') },
          { filename: 'pixel.png', mimeType: 'image/png', value: PNG.toString('base64') },
        ],
      });
      const m = await arrival(sink, to);
      expect(describeTree(mimeTree(m.raw.toString('latin1')))).toBe(
        'multipart/mixed[multipart/alternative[text/plain, text/html], application/octet-stream, image/png]',
      );
      const byName = new Map(m.parsed.attachments.map((a) => [a.filename, a]));
      expect(byName.get('random.bin')!.content.equals(binary)).toBe(true);
      expect(byName.get('pixel.png')!.content.equals(PNG)).toBe(true);
      expect(byName.get('pixel.png')!.contentDisposition).toBe('attachment');
    });

    it('an inline image referenced by cid: goes into multipart/related next to the HTML', async () => {
      const to = address('related');
      const binary = randomBytes(777);
      await send(server, {
        to: [{ email: to }],
        bodyHtml: '<p>Logo: <img src="cid:logo@posthorn.test" alt="logo"></p>',
        bodyText: 'Logo',
        attachments: [
          {
            filename: 'logo.png',
            mimeType: 'image/png',
            value: PNG.toString('base64'),
            contentId: 'logo@posthorn.test',
          },
          { filename: 'report.bin', mimeType: 'application/octet-stream', value: binary.toString('base64') },
        ],
      });
      const m = await arrival(sink, to);
      const tree = describeTree(mimeTree(m.raw.toString('latin1')));
      expect(tree).toMatch(/multipart\/related\[text\/html, image\/png\]/);
      expect(tree).toMatch(/^multipart\/mixed\[.*multipart\/related.*, application\/octet-stream\]$/);
      const logo = m.parsed.attachments.find((a) => a.filename === 'logo.png')!;
      expect(logo.cid).toBe('logo@posthorn.test');
      expect(logo.related).toBe(true);
      expect(logo.contentDisposition).toBe('inline');
      expect(logo.content.equals(PNG)).toBe(true);
      expect(m.parsed.attachments.find((a) => a.filename === 'report.bin')!.content.equals(binary)).toBe(true);
      // The HTML still points at the image by its Content-ID.
      expect(m.raw.toString('latin1')).toContain('src="cid:logo@posthorn.test"');
    });
  });

  it('gives each recipient its own copy: To per recipient, Cc in the headers, Bcc only in the envelope', async () => {
    const [a, b, c, d] = [address('to-a'), address('to-b'), address('cc'), address('bcc')];
    const id = await send(server, {
      to: [{ email: a, name: 'Ada' }, { email: b }],
      cc: [{ email: c, name: 'Cy' }],
      bcc: [{ email: d }],
    });
    const messages = await waitForTransmission(server.api, id);
    expect(messages.map((m) => m.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    for (const r of [a, b, c, d]) await arrival(sink, r);

    const copies = [a, b, c, d].map((r) => receivedBy(sink, r));
    for (const [i, list] of copies.entries()) {
      expect(list, `copies for recipient ${i}`).toHaveLength(1);
      expect(list[0]!.to).toEqual([[a, b, c, d][i]]); // the envelope names only this recipient
    }
    const [ma, mb, mc, md] = copies.map((l) => l[0]!);
    expect(addresses(ma.parsed.to)).toEqual([a]);
    expect(addresses(mb.parsed.to)).toEqual([b]);
    // Copies for cc and bcc show the primary recipients, as the sender addressed the mail.
    expect(addresses(mc.parsed.to)).toEqual([a, b]);
    expect(addresses(md.parsed.to)).toEqual([a, b]);
    for (const m of [ma, mb, mc, md]) {
      expect(addresses(m.parsed.cc)).toEqual([c]);
      expect(m.parsed.headers.has('bcc')).toBe(false);
      expect(headerBlock(m.raw).toString('latin1')).not.toMatch(/^bcc:/im);
    }
    for (const m of [ma, mb, mc]) expect(m.raw.toString('latin1')).not.toContain(d);
    // One Message-ID per copy: each recipient's copy is its own message.
    expect(new Set([ma, mb, mc, md].map((m) => m.messageId)).size).toBe(4);
    expect(new Set(messages.map((m) => `<${m.messageIdHeader}>`))).toEqual(
      new Set([ma, mb, mc, md].map((m) => m.messageId)),
    );
  });

  it('renders each recipient with its own substitution data over the top-level data', async () => {
    const [x, y, c] = [address('sub-x'), address('sub-y'), address('sub-cc')];
    await send(server, {
      to: [
        { email: x, substitutionData: { name: 'Ada' } },
        { email: y, substitutionData: { name: 'Bob', greeting: 'Yo' } },
      ],
      cc: [{ email: c }],
      subject: '{{greeting}} {{name}} from {{company}}',
      bodyHtml: '<p>{{greeting}}, {{name}}! Order {{order.id}}</p>',
      bodyText: '{{greeting}}, {{name}}! Order {{order.id}}',
      substitutionData: { name: 'Friend', greeting: 'Hello', company: 'Posthorn', order: { id: 42 } },
    });
    const [mx, my, mc] = await Promise.all([arrival(sink, x), arrival(sink, y), arrival(sink, c)]);
    expect(mx.parsed.subject).toBe('Hello Ada from Posthorn');
    expect(my.parsed.subject).toBe('Yo Bob from Posthorn');
    expect(mc.parsed.subject).toBe('Hello Friend from Posthorn');
    expect(mx.parsed.text?.trim()).toBe('Hello, Ada! Order 42');
    expect(my.parsed.text?.trim()).toBe('Yo, Bob! Order 42');
    expect(mx.parsed.html).toContain('<p>Hello, Ada! Order 42</p>');
    expect(my.parsed.html).toContain('<p>Yo, Bob! Order 42</p>');
  });

  it('delivers custom headers in array and map form, and a Feedback-ID', async () => {
    const [p, q] = [address('hdr-array'), address('hdr-map')];
    const first = await send(server, {
      to: [{ email: p }],
      headers: [
        { name: 'X-Campaign', value: 'spring-sale' },
        { name: 'X-Ticket', value: 'T-1001' },
      ],
    });
    await send(server, {
      to: [{ email: q }],
      headers: { 'X-Campaign': 'autumn', 'X-Greeting': 'Grüße 👋', 'Feedback-ID': 'own:feedback:id' },
    });
    const r = address('feedback');
    await send(server, {
      to: [{ email: r }],
      campaignId: 'Autumn sale/2026',
      optionsAttributes: { transactional: false },
    });
    const [mp, mq] = await Promise.all([arrival(sink, p), arrival(sink, q)]);
    expect(mp.parsed.headers.get('x-campaign')).toBe('spring-sale');
    expect(mp.parsed.headers.get('x-ticket')).toBe('T-1001');
    // Posthorn's own Feedback-ID (campaign, or transmission, : account : type : posthorn) …
    expect(mp.parsed.headers.get('feedback-id')).toBe(`${first}:${server.accountId}:transactional:posthorn`);
    // … unless the sender brought one; never two.
    expect(mq.parsed.headerLines.filter((h) => h.key === 'feedback-id').map((h) => h.line)).toEqual([
      'Feedback-ID: own:feedback:id',
    ]);
    const mr = await arrival(sink, r);
    expect(mr.parsed.headers.get('feedback-id')).toBe(`Autumn-sale-2026:${server.accountId}:bulk:posthorn`);
    expect(mq.parsed.headers.get('x-campaign')).toBe('autumn');
    // Non-ASCII header values travel RFC 2047-encoded and decode back to the original.
    const greeting = mq.parsed.headerLines.find((h) => h.key === 'x-greeting')!.line;
    expect(greeting).toMatch(/^X-Greeting: =\?UTF-8\?[BQ]\?/);
    expect(decodeWords(String(mq.parsed.headers.get('x-greeting')))).toBe('Grüße 👋');
    expect([...headerBlock(mq.raw)].every((byte) => byte < 0x80)).toBe(true);
  });

  it('keeps UTF-8 subjects and display names intact, RFC 2047-encoded in 7-bit headers', async () => {
    const to = address('utf8');
    await send(server, {
      from: { email: 'sender@example.com', name: 'Zoë Ünïcode' },
      to: [{ email: to, name: 'Jürgen Ößwald' }],
      replyTo: { email: 'reply@example.com', name: 'Straße Support' },
      subject: 'Grüße 👋 {{name}}',
      substitutionData: { name: 'Zoë' },
      bodyText: 'Grüße, Zoë 👋',
    });
    const m = await arrival(sink, to);
    expect(m.parsed.subject).toBe('Grüße 👋 Zoë');
    expect((m.parsed.from as AddressObject).value[0]).toEqual({ address: 'sender@example.com', name: 'Zoë Ünïcode' });
    expect((m.parsed.to as AddressObject).value[0]).toEqual({ address: to, name: 'Jürgen Ößwald' });
    expect((m.parsed.replyTo as AddressObject).value[0]).toEqual({
      address: 'reply@example.com',
      name: 'Straße Support',
    });
    expect(m.parsed.text?.trim()).toBe('Grüße, Zoë 👋');

    const head = headerBlock(m.raw);
    expect(
      [...head].every((byte) => byte < 0x80),
      'no 8-bit bytes in the header block',
    ).toBe(true);
    expect(head.toString('latin1')).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    expect(head.toString('latin1')).toMatch(/^From: =\?UTF-8\?[BQ]\?.*\?= <sender@example\.com>/m);
  });

  it('retries a 4xx and then delivers: delay, delay, delivery', async () => {
    const to = address('retry');
    sink.rules.push({
      recipient: new RegExp(`^${to}$`),
      times: 2,
      code: 451,
      message: '4.3.0 Temporary local problem, try again',
      at: 'data',
    });
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id);
    expect(m).toMatchObject({ status: 'delivered', attempts: 3, bounceClass: null });
    expect(receivedBy(sink, to)).toHaveLength(1);
    const events = await eventsOf(server, id);
    expect(events.map((e) => e.type)).toEqual(['injection', 'delay', 'delay', 'delivery']);
    expect(events[1]).toMatchObject({ reason: '451 4.3.0 Temporary local problem, try again', bounceClass: 20 });
  });

  it('retries a 4xx at RCPT the same way', async () => {
    const to = address('retry-rcpt');
    sink.rules.push({
      recipient: new RegExp(`^${to}$`),
      times: 1,
      code: 450,
      message: '4.2.1 Mailbox busy, try later',
      at: 'rcpt',
    });
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id);
    expect(m).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await eventsOf(server, id)).map((e) => e.type)).toEqual(['injection', 'delay', 'delivery']);
  });

  it('bounces a 550 5.1.1 as class 10, suppresses the address, and refuses the next send to it', async () => {
    const to = address('unknown');
    sink.rules.push({
      recipient: new RegExp(`^${to}$`),
      code: 550,
      message: `5.1.1 <${to}>: Recipient address rejected: User unknown in virtual mailbox table`,
    });
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id);
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 10, attempts: 1 });
    expect(m.lastResponse).toContain('550 5.1.1');
    const bounce = (await eventsOf(server, id)).find((e) => e.type === 'bounce');
    expect(bounce).toMatchObject({ recipient: to, bounceClass: 10 });
    expect(bounce.reason).toContain('User unknown');

    const list = await server.api.get('/v1/suppression/list?size=1000');
    if (list.status === 200) expect(list.body.data.map((s: any) => s.email)).toContain(to.toLowerCase());

    const attemptsBefore = sink.attempts;
    const second = await send(server, { to: [{ email: to }] });
    const [again] = await waitForTransmission(server.api, second);
    expect(again).toMatchObject({ status: 'suppressed', bounceClass: 50 });
    expect((await eventsOf(server, second)).map((e) => [e.type, e.bounceClass])).toEqual([
      ['injection', null],
      ['bounce', 50],
    ]);
    // Give a wrongly sent copy the time to arrive before asserting that none did.
    await new Promise((r) => setTimeout(r, 300));
    expect(receivedBy(sink, to)).toHaveLength(0);
    expect(sink.attempts).toBe(attemptsBefore);
  });

  it('bounces a 552 5.2.2 mailbox full as class 22 without suppressing the address', async () => {
    const to = address('full');
    sink.rules.push({
      recipient: new RegExp(`^${to}$`),
      times: 1,
      code: 552,
      message: '5.2.2 Mailbox full: quota exceeded',
      at: 'data',
    });
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id);
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 22 });
    expect((await eventsOf(server, id)).find((e) => e.type === 'bounce')).toMatchObject({ bounceClass: 22 });
    // A soft bounce does not suppress: the next mail to the address is sent (and, the rule used up, delivered).
    const next = await send(server, { to: [{ email: to }] });
    const [n] = await waitForTransmission(server.api, next);
    expect(n.status).toBe('delivered');
    expect(receivedBy(sink, to)).toHaveLength(1);
  });

  it('keeps the lease of a message on a relay slower than the lease, so it is sent once', async () => {
    const recipients = [address('slow-a'), address('slow-b'), address('slow-c')];
    let release!: () => void;
    sink.hold = new Promise<void>((resolve) => (release = resolve));
    try {
      const id = await send(server, { to: recipients.map((email) => ({ email })) });
      await waitFor(async () => sink.held === recipients.length, 5000, 'the messages to be on the wire');
      // Well past the one-second lease: a worker that did not renew it would see it expire, put
      // the rows back in the queue and send them again. Part of the wait is a stalled event loop
      // (this test shares the server's process), which makes every timer late at once.
      const stallUntil = Date.now() + 1500;
      while (Date.now() < stallUntil) {
        /* busy: nothing else runs */
      }
      await new Promise((r) => setTimeout(r, 1000));
      expect(sink.held).toBe(recipients.length);
      release();
      sink.hold = null;
      const rows = await waitForTransmission(server.api, id);
      expect(rows.map((r) => [r.status, r.attempts])).toEqual(recipients.map(() => ['delivered', 1]));
    } finally {
      release();
      sink.hold = null;
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const r of recipients) expect(receivedBy(sink, r)).toHaveLength(1);
  });

  it('does not send to an address suppressed after its message was accepted', async () => {
    const [hard, later] = [address('hard'), address('later')];
    sink.rules.push({ recipient: new RegExp(`^${hard}$`), code: 550, message: '5.1.1 No such user' });
    // The later transmission is accepted first, while the address is still clean, and scheduled a
    // moment ahead; by the time the worker picks it up, the first one's hard bounce suppressed it.
    const sendAt = new Date(Date.now() + 2500).toISOString().replace(/\.\d+Z$/, 'Z');
    const second = await send(server, { to: [{ email: hard }, { email: later }], sendAt });
    expect((await server.api.get(`/v1/messages?transmissionId=${second}`)).body.data.map((r: any) => r.status)).toEqual(
      ['queued', 'queued'],
    );
    const first = await send(server, { to: [{ email: hard }] });
    expect((await waitForTransmission(server.api, first))[0]).toMatchObject({ status: 'bounced', bounceClass: 10 });
    const rows = await waitForTransmission(server.api, second, 5000);
    expect(rows.find((r) => r.recipient === hard)).toMatchObject({ status: 'suppressed', bounceClass: 50 });
    expect(rows.find((r) => r.recipient === later)).toMatchObject({ status: 'delivered' });
    const events = (await eventsOf(server, second)).filter((e) => e.recipient === hard);
    expect(events.map((e) => [e.type, e.bounceClass])).toEqual([
      ['injection', null],
      ['bounce', 50],
    ]);
    expect(receivedBy(sink, hard)).toHaveLength(0);
  });

  it('refuses a blacklisted recipient by policy: suppressed, class 50, a policy_rejection event', async () => {
    const [listed, other] = [address('listed'), address('other')];
    const added = await server.api.post('/api/v1/blacklist', { pattern: listed });
    expect(added.status).toBe(201);
    const id = await send(server, { to: [{ email: listed }, { email: other }] });
    const rows = await waitForTransmission(server.api, id);
    expect(rows.find((r) => r.recipient === listed)).toMatchObject({ status: 'suppressed', bounceClass: 50 });
    expect(rows.find((r) => r.recipient === other)).toMatchObject({ status: 'delivered' });
    const events = (await eventsOf(server, id)).filter((e) => e.recipient === listed);
    expect(events.map((e) => [e.type, e.bounceClass])).toEqual([
      ['injection', null],
      ['policy_rejection', 50],
    ]);
    expect(receivedBy(sink, listed)).toHaveLength(0);
  });
});

describe(`relay failover and exhausted retries (${dialectName})`, () => {
  let sink: SmtpSink;
  let refusing: SmtpSink;
  let server: TestServer;

  beforeAll(async () => {
    sink = await startSmtpSink();
    // A relay that answers, but refuses every session at the greeting.
    refusing = await startSmtpSink({
      onConnect: (_session, callback) =>
        callback(Object.assign(new Error('5.3.2 Service not available'), { responseCode: 554 })),
    });
    const dead = await deadPort();
    const relays = [`smtp://127.0.0.1:${dead}?starttls=off`, refusing.url, sink.url].join(',');
    server = await startTestServer(
      relayEnv(relays, { POSTHORN_RETRY_SCHEDULE: '200ms', POSTHORN_RETRY_MAX_AGE: '1s' }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await refusing?.close();
  });

  it('fails over from a relay nobody listens on, and one that refuses the session, to the next one', async () => {
    const to = address('failover');
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id);
    // A refused greeting is the relay's state, not this message's answer: no bounce, no retry.
    expect(m).toMatchObject({ status: 'delivered', attempts: 1, bounceClass: null });
    expect(receivedBy(sink, to)).toHaveLength(1);
    expect(refusing.messages).toHaveLength(0);
    expect((await eventsOf(server, id)).map((e) => e.type)).toEqual(['injection', 'delivery']);
  });

  it('opens the retry window of a scheduled message at its send time, not at accept', async () => {
    const to = address('scheduled-retry');
    sink.rules.push({ recipient: new RegExp(`^${to}$`), times: 1, code: 451, message: '4.3.0 Try later', at: 'data' });
    // Due about two seconds after accept, with a one-second retry window: its first 4xx must be retried.
    const sendAt = new Date(Date.now() + 2500).toISOString().replace(/\.\d+Z$/, 'Z');
    const id = await send(server, { to: [{ email: to }], sendAt });
    const [m] = await waitForTransmission(server.api, id, 8000);
    expect(m).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await eventsOf(server, id)).map((e) => e.type)).toEqual(['injection', 'delay', 'delivery']);
  });

  it('bounces a message that only ever got 4xx once the retry window is over, with the 4xx class', async () => {
    const to = address('always-busy');
    sink.rules.push({ recipient: new RegExp(`^${to}$`), code: 451, message: '4.3.0 Server busy', at: 'data' });
    const started = Date.now();
    const id = await send(server, { to: [{ email: to }] });
    const [m] = await waitForTransmission(server.api, id, 8000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 20 });
    expect(m.attempts).toBeGreaterThanOrEqual(3);
    expect(m.lastResponse).toContain('451 4.3.0 Server busy');
    const types = (await eventsOf(server, id)).map((e) => e.type);
    expect(types[0]).toBe('injection');
    expect(types.at(-1)).toBe('bounce');
    expect(types.slice(1, -1).every((t) => t === 'delay')).toBe(true);
    expect(types.length - 2).toBe(m.attempts - 1);
    expect(receivedBy(sink, to)).toHaveLength(0);
  });
});

describe(`no relay reachable (${dialectName})`, () => {
  let server: TestServer;

  beforeAll(async () => {
    const dead = await deadPort();
    server = await startTestServer(
      relayEnv(`smtp://127.0.0.1:${dead}?starttls=off`, {
        POSTHORN_RETRY_SCHEDULE: '200ms',
        POSTHORN_RETRY_MAX_AGE: '1s',
      }),
    );
  });
  afterAll(async () => server?.close());

  it('defers connection failures and bounces them as class 24 when the window is over', async () => {
    const id = await send(server, { to: [{ email: address('nobody-home') }] });
    const [m] = await waitForTransmission(server.api, id, 8000);
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 24 });
    expect(m.attempts).toBeGreaterThanOrEqual(2);
    expect(m.lastResponse).toMatch(/no relay could be reached/);
    const events = await eventsOf(server, id);
    expect(events.filter((e) => e.type === 'delay').length).toBe(m.attempts - 1);
    expect(events.at(-1)).toMatchObject({ type: 'bounce', bounceClass: 24 });
    // A timeout is a soft bounce: the address stays sendable.
    const list = await server.api.get('/v1/suppression/list?size=1000');
    if (list.status === 200) expect(list.body.count).toBe(0);
  });
});
