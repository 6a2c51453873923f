// SMTP submission end to end: nodemailer (and a bare client where the protocol itself is the
// subject) against the real submission server on a free port, the relay to a real SMTP sink, and
// an independent DKIM verifier (mailauth) on what arrived.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
// @ts-ignore mailauth ships no type declarations (ignore rather than expect-error: a later .d.ts must not break this)
import { authenticate } from 'mailauth';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { plainAuth, rawSmtp, type RawSmtpSession } from '../helpers/smtp-client.ts';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { freePort, startChildServer, type ChildServer } from '../helpers/child-server.ts';

const MB = 1024 * 1024;
const QUEUED = /^250 2\.0\.0 Ok: queued as ([0-9a-z]+)$/;

/** The transmission id of a `250 2.0.0 Ok: queued as <id>` reply. */
function queuedId(response: string): string {
  const m = QUEUED.exec(response.trim());
  if (!m) throw new Error(`not a queued reply: ${response}`);
  return m[1];
}

function mime(headers: string[], body: string): Buffer {
  return Buffer.from(headers.join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

describe(`SMTP submission (${dialectName})`, () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;
  let port: number;
  let domain: any;

  const transport = (opts: Record<string, unknown> = {}) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'smtp_mt_injection', pass: server.key },
      ...opts,
    });

  /** The messages the sink received for a transmission (by the VERP ids of its outbox rows). */
  async function arrived(transmissionId: string): Promise<{ rows: any[]; received: ReceivedMessage[] }> {
    const rows = await waitForTransmission(server.api, transmissionId);
    const ids = new Set(rows.map((r) => r.id));
    const received = sink.messages.filter((m) => ids.has(/^bounces\+([0-9a-z]+)@/.exec(m.from)?.[1] ?? ''));
    return { rows, received };
  }

  const dkimResults = async (raw: Buffer) => {
    const result = await authenticate(raw, {
      resolver: async (name: string, rrtype: string) => {
        if (rrtype === 'TXT' && name.toLowerCase() === domain.dkimHostname) return [[domain.dkimValue]];
        throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      },
      ip: '127.0.0.1',
      helo: 'posthorn.test',
      sender: 'bounces@shop.example.org',
      mta: 'sink.test',
      disableArc: true,
      disableBimi: true,
    });
    return result.dkim.results as Array<{ signingDomain: string; status: { result: string } }>;
  };

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink();
    server = await startTestServer(
      {
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_DNS_SERVERS: dns.address,
        PUBLIC_URL: 'https://posthorn.example.net',
      },
      { smtp: true },
    );
    port = server.app.smtp!.port;
    domain = (await server.api.post('/v1/domain/sending', { domain: 'shop.example.org' })).body;
    dns.setTxt(domain.spfHostname, domain.spfValue);
    dns.setTxt(domain.dkimHostname, domain.dkimValue);
    const verified = await server.api.put(`/v1/domain/sending/${domain.id}/verify-txt`);
    expect(verified.body[0].status).toEqual(['Verified']);
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await dns?.close();
  });

  it('offers STARTTLS with a self-signed certificate kept in the data directory', async () => {
    const tls = server.app.smtp!.tls;
    expect(tls.source).toBe('self-signed');
    expect(tls.file.startsWith(server.app.ctx.config.dataDir)).toBe(true);
    expect(fs.readFileSync(tls.file, 'utf8')).toContain('BEGIN CERTIFICATE');
    const session = await rawSmtp(port);
    const ehlo = await session.command('EHLO client.test');
    session.close();
    expect(ehlo.text).toContain('STARTTLS');
    expect(ehlo.text).toContain('AUTH PLAIN LOGIN');
    expect(ehlo.text).toContain(`SIZE ${20 * MB}`);
  });

  it('refuses AUTH before STARTTLS when insecure auth is off', async () => {
    const session = await rawSmtp(port);
    await session.command('EHLO client.test');
    const auth = await session.command(`AUTH PLAIN ${plainAuth('smtp_mt_injection', server.key)}`);
    const mail = await session.command('MAIL FROM:<orders@shop.example.org>');
    session.close();
    expect(auth.code).toBe(538);
    expect(mail.code).toBe(530);
    expect(mail.text).toContain('5.7.0 Authentication required');
  });

  it('relays a multipart message sent with STARTTLS + AUTH PLAIN, DKIM-signed, its bytes untouched', async () => {
    const submitted = await new MailComposer({
      from: 'Shop <orders@shop.example.org>',
      to: 'Buyer <buyer@inbox.test>',
      subject: 'Your order ✓ has shipped',
      text: 'Your order has shipped.\nThanks!',
      html: '<p>Your order has <b>shipped</b>. <a href="https://shop.example.org/o/1">Track it</a></p>',
      attachments: [
        { filename: 'invoice.pdf', content: randomBytes(20_000), contentType: 'application/pdf' },
        { filename: 'notes.txt', content: 'line one\r\nline two\r\n.\r\n..dots\r\n' },
      ],
      messageId: '<order-1@shop.example.org>',
      date: new Date('2026-01-02T03:04:05Z'),
    })
      .compile()
      .build()
      .then((built) => Buffer.from(built.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    const info = await transport({ authMethod: 'PLAIN' }).sendMail({
      envelope: { from: 'orders@shop.example.org', to: ['buyer@inbox.test'] },
      raw: submitted,
    });
    const id = queuedId(info.response);
    const { rows, received } = await arrived(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'delivered', recipient: 'buyer@inbox.test' });
    expect(rows[0].messageIdHeader).toBe('order-1@shop.example.org');
    expect(received).toHaveLength(1);
    const raw = received[0].raw;
    // What arrived is a DKIM-Signature field followed by exactly the bytes that were submitted
    // (as SMTP carries them: every line ending CRLF).
    expect(raw.subarray(raw.length - submitted.length).equals(submitted)).toBe(true);
    const added = raw.subarray(0, raw.length - submitted.length).toString('latin1');
    expect(added).toMatch(/^DKIM-Signature: [^]*\r\n$/);
    expect(
      added
        .split('\r\n')
        .slice(1, -1)
        .every((line) => /^[ \t]/.test(line)),
    ).toBe(true);
    const [dkim] = await dkimResults(raw);
    expect(dkim).toMatchObject({ signingDomain: 'shop.example.org', status: { result: 'pass' } });
    expect(received[0].parsed.attachments.map((a) => a.filename)).toEqual(['invoice.pdf', 'notes.txt']);
    expect(received[0].from).toMatch(/^bounces\+[0-9a-z]+@shop\.example\.org$/);
  });

  it('takes AUTH LOGIN', async () => {
    const info = await transport({ authMethod: 'LOGIN' }).sendMail({
      from: 'orders@shop.example.org',
      to: 'login@inbox.test',
      subject: 'Logged in',
      text: 'hello',
    });
    const { rows, received } = await arrived(queuedId(info.response));
    expect(rows[0].status).toBe('delivered');
    expect(received[0].parsed.subject).toBe('Logged in');
  });

  it('makes one transmission per transaction with one outbox row per RCPT, visible in /v1/messages', async () => {
    const raw = mime(
      [
        'From: orders@shop.example.org',
        'To: a@inbox.test, b@inbox.test',
        'Bcc: hidden@inbox.test',
        'Subject: To three',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
      ],
      'One message, three envelopes.\r\n',
    );
    const info = await transport().sendMail({
      envelope: { from: 'orders@shop.example.org', to: ['a@inbox.test', 'b@inbox.test', 'hidden@inbox.test'] },
      raw,
    });
    const id = queuedId(info.response);
    const { rows, received } = await arrived(id);
    expect(rows.map((r) => r.recipient).sort()).toEqual(['a@inbox.test', 'b@inbox.test', 'hidden@inbox.test']);
    expect(rows.every((r) => r.transmissionId === id && r.status === 'delivered')).toBe(true);
    expect(received.map((m) => m.to)).toEqual(expect.arrayContaining([['a@inbox.test'], ['hidden@inbox.test']]));
    // Without a Message-ID of its own, each copy gets one (the outbox row's id); Date is added once.
    const messageIds = received.map((m) => m.messageId);
    expect(new Set(messageIds).size).toBe(3);
    expect(messageIds.sort()).toEqual(rows.map((r) => `<${r.id}@shop.example.org>`).sort());
    const dates = received.map((m) => /^Date: (.*)$/m.exec(m.raw.toString('latin1'))![1]);
    expect(new Set(dates).size).toBe(1);
    // The blind copy does not show: Bcc is removed before the message is stored.
    for (const m of received) expect(m.raw.toString('latin1')).not.toMatch(/^Bcc:/im);
    expect(received[0].raw.toString('latin1')).toContain('\r\n\r\nOne message, three envelopes.\r\n');

    const transmission = await server.api.get(`/v1/analytic/transmission/${id}/events`);
    expect(transmission.status).toBe(200);
    expect(transmission.body.events.filter((e: any) => e.type === 'injection')).toHaveLength(3);
  });

  it('honours and strips the X-MT-* option headers', async () => {
    const raw = mime(
      [
        'From: Shop <orders@shop.example.org>',
        'To: tracked@inbox.test',
        'Subject: Tracked',
        'X-MT-Tracking: on',
        'X-MT-Metadata: {"orderId":"42"}',
        'X-MT-Campaign-Id: spring-sale',
        'X-MT-Labels: promo, spring',
        'MIME-Version: 1.0',
        'Content-Type: text/html; charset=utf-8',
      ],
      '<html><body><p>Sale! <a href="https://shop.example.org/sale">See it</a></p></body></html>\r\n',
    );
    const info = await transport().sendMail({
      envelope: { from: 'orders@shop.example.org', to: ['tracked@inbox.test'] },
      raw,
    });
    const id = queuedId(info.response);
    const { received } = await arrived(id);
    const text = received[0].raw.toString('latin1');
    expect(text).not.toMatch(/^X-MT-/im);
    const html = received[0].parsed.html as string;
    expect(html).toContain('https://posthorn.example.net/t/o/');
    expect(html).toContain('https://posthorn.example.net/t/c/');
    expect(html).not.toContain('href="https://shop.example.org/sale"');
    const [dkim] = await dkimResults(received[0].raw);
    expect(dkim.status.result).toBe('pass');

    const events = (await server.api.get(`/v1/analytic/transmission/${id}/events`)).body.events;
    expect(events.find((e: any) => e.type === 'injection').metadata).toEqual({ orderId: '42' });
    const row = await server.app.ctx.db
      .selectFrom('transmissions')
      .select(['campaign_id', 'content'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.campaign_id).toBe('spring-sale');
    expect(JSON.parse(row.content).labels).toEqual(['promo', 'spring']);
  });

  it('refuses a message whose option header is invalid, naming the header', async () => {
    const send = (header: string) =>
      transport().sendMail({
        envelope: { from: 'orders@shop.example.org', to: ['x@inbox.test'] },
        raw: mime(['From: orders@shop.example.org', 'Subject: bad', header], 'body\r\n'),
      });
    await expect(send('X-MT-Tracking: maybe')).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringContaining('X-MT-Tracking must be on or off'),
    });
    await expect(send('X-MT-Metadata: [1,2]')).rejects.toMatchObject({
      response: expect.stringContaining('X-MT-Metadata must be a JSON object'),
    });
    await expect(send('X-MT-Trackin: on')).rejects.toMatchObject({
      response: expect.stringContaining('X-MT-Trackin is not a known option header'),
    });
  });

  it('captures what a sandbox key or X-MT-Sandbox sends, and relays nothing', async () => {
    const sandboxKey = await server.newKey({ name: 'sandbox', environment: 'sandbox', permissions: ['send_smtp'] });
    const before = sink.messages.length;
    const a = await transport({ auth: { user: 'x', pass: sandboxKey } }).sendMail({
      from: 'someone@unverified.test',
      to: 'sandboxed@inbox.test',
      subject: 'Sandboxed',
      text: 'not for real',
    });
    const b = await transport().sendMail({
      envelope: { from: 'orders@shop.example.org', to: ['flagged@inbox.test'] },
      raw: mime(['From: orders@shop.example.org', 'Subject: Flagged', 'X-MT-Sandbox: true'], 'not for real\r\n'),
    });
    for (const info of [a, b]) {
      const [row] = await waitForTransmission(server.api, queuedId(info.response));
      expect(row).toMatchObject({ status: 'captured', sandbox: true });
      const raw = await server.api.get(`/v1/messages/${row.id}/raw`);
      expect(raw.text).toContain('not for real');
      expect(raw.text).not.toMatch(/^X-MT-/im);
    }
    expect(sink.messages.length).toBe(before);
  });

  it('keeps the 8-bit bytes of a captured message as submitted, in a charset that is not UTF-8', async () => {
    const body = Buffer.from('Gr\xfc\xdfe aus K\xf6ln, 25 \xa4\r\n', 'latin1');
    const head = [
      'From: orders@shop.example.org',
      'To: latin@inbox.test',
      'Subject: Latin-1',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=iso-8859-15',
      'Content-Transfer-Encoding: 8bit',
      'X-MT-Sandbox: true',
    ];
    const info = await transport().sendMail({
      envelope: { from: 'orders@shop.example.org', to: ['latin@inbox.test'] },
      raw: Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]),
    });
    const [row] = await waitForTransmission(server.api, queuedId(info.response));
    expect(row).toMatchObject({ status: 'captured', sandbox: true });
    const res = await fetch(`${server.url}/v1/messages/${row.id}/raw`, {
      headers: { authorization: `Bearer ${server.key}` },
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    expect(raw.subarray(raw.length - body.length).equals(body)).toBe(true);
    expect(raw.includes(Buffer.from('\ufffd', 'utf8'))).toBe(false);
  });

  it('answers 535 for a bad key, a revoked key and a key without "Send via SMTP"', async () => {
    const bad = transport({
      auth: { user: 'x', pass: server.key.slice(0, -1) + (server.key.endsWith('a') ? 'b' : 'a') },
    });
    await expect(bad.verify()).rejects.toMatchObject({ responseCode: 535 });

    const revoked = await server.newKey({ name: 'soon revoked', permissions: ['send_smtp'] });
    await expect(transport({ auth: { user: 'x', pass: revoked } }).verify()).resolves.toBe(true);
    await server.app.ctx.db
      .updateTable('api_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', revoked.split('.')[0])
      .execute();
    const refused = transport({ auth: { user: 'x', pass: revoked } }).verify();
    await expect(refused).rejects.toMatchObject({
      responseCode: 535,
      response: expect.stringContaining('5.7.8 Authentication credentials invalid'),
    });

    const apiOnly = await server.newKey({ name: 'api only', permissions: ['send_api'] });
    await expect(transport({ auth: { user: 'x', pass: apiOnly } }).verify()).rejects.toMatchObject({
      responseCode: 535,
      response: expect.stringContaining('lacks the "Send via SMTP" permission'),
    });
  });

  it('refuses a From domain that is not verified, and a recipient that is not an address', async () => {
    await expect(
      transport().sendMail({ from: 'someone@unverified.test', to: 'x@inbox.test', subject: 's', text: 't' }),
    ).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringContaining('5.7.1 From: sending domain "unverified.test" is not a verified'),
    });
    const t = transport();
    await expect(
      t.sendMail({ envelope: { from: 'me@nodot', to: ['x@inbox.test'] }, raw: mime(['Subject: s'], 'b') }),
    ).rejects.toMatchObject({ responseCode: 553, response: expect.stringContaining('5.1.7') });
    await expect(
      t.sendMail({ envelope: { from: 'orders@shop.example.org', to: ['user@nodot'] }, raw: mime(['Subject: s'], 'b') }),
    ).rejects.toMatchObject({ responseCode: 553, response: expect.stringContaining('5.1.3') });
  });
});

describe(`SMTP submission limits, SMTP-IP keys and the lock (${dialectName})`, () => {
  let server: TestServer;
  let port: number;

  beforeAll(async () => {
    server = await startTestServer(
      {
        POSTHORN_SMTP_ALLOW_INSECURE_AUTH: 'true',
        POSTHORN_DAILY_LIMIT: '3',
        POSTHORN_MAX_RECIPIENTS: '3',
      },
      { smtp: true },
    );
    port = server.app.smtp!.port;
  });
  afterAll(async () => {
    await server?.close();
  });

  /** A session past EHLO and AUTH PLAIN on plain TCP (insecure auth allowed here). */
  async function session(key = server.key): Promise<RawSmtpSession> {
    const s = await rawSmtp(port);
    await s.command('EHLO client.test');
    const auth = await s.command(`AUTH PLAIN ${plainAuth('smtp_mt_injection', key)}`);
    expect(auth.code).toBe(235);
    return s;
  }

  /** Sends DATA and a small message; resolves with the final reply. */
  async function data(s: RawSmtpSession, body = 'From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n') {
    expect((await s.command('DATA')).code).toBe(354);
    await s.write(body + '.\r\n');
    return s.reply();
  }

  it('refuses a 30 MB message by SIZE when the client declares it', async () => {
    const s = await session();
    const mail = await s.command(`MAIL FROM:<a@example.com> SIZE=${30 * MB}`);
    s.close();
    expect(mail.code).toBe(552);
  });

  it('refuses a 30 MB message it was not told the size of, never holding more than the limit', async () => {
    const s = await session();
    expect((await s.command('MAIL FROM:<a@example.com>')).code).toBe(250);
    expect((await s.command('RCPT TO:<big@inbox.test>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    await s.write('From: a@example.com\r\nSubject: big\r\n\r\n');
    const line = 'x'.repeat(998) + '\r\n';
    const chunk = line.repeat(64); // 64 KB
    for (let sent = 0; sent < 30 * MB; sent += chunk.length) await s.write(chunk);
    await s.write('.\r\n');
    const reply = await s.reply();
    expect(reply.code).toBe(552);
    expect(reply.text).toContain('5.3.4');
    // Past the 20 MB limit what was read is dropped and the rest drained, never kept.
    const { stats } = server.app.smtp!;
    expect(stats.refusedOversized).toBe(1);
    expect(stats.peakMessageBytesHeld).toBeLessThanOrEqual(20 * MB);
    // The session goes on: the next transaction is answered normally.
    expect((await s.command('RSET')).code).toBe(250);
    s.close();
    const rows = await server.api.get('/v1/messages?size=100');
    expect(rows.body.data.filter((m: any) => m.recipient === 'big@inbox.test')).toHaveLength(0);
  });

  it('answers 452 4.5.3 beyond the recipient limit', async () => {
    const s = await session();
    await s.command('MAIL FROM:<a@example.com>');
    for (const n of [1, 2, 3]) expect((await s.command(`RCPT TO:<r${n}@inbox.test>`)).code).toBe(250);
    const fourth = await s.command('RCPT TO:<r4@inbox.test>');
    s.close();
    expect(fourth.code).toBe(452);
    expect(fourth.text).toContain('4.5.3');
  });

  it('authenticates an SMTP-IP key by the client address, and stops the moment it is revoked', async () => {
    const anonymous = await rawSmtp(port);
    await anonymous.command('EHLO client.test');
    expect((await anonymous.command('MAIL FROM:<a@example.com>')).code).toBe(530);

    const key = await server.newKey({
      name: 'app servers',
      permissions: ['send_smtp'],
      allowedIps: ['127.0.0.0/8'],
      smtpIpAuth: true,
    });
    expect((await anonymous.command('MAIL FROM:<a@example.com>')).code).toBe(250);
    expect((await anonymous.command('RCPT TO:<ip@inbox.test>')).code).toBe(250);
    const reply = await data(anonymous);
    const id = queuedId(reply.text);
    const [row] = await waitForTransmission(server.api, id);
    expect(row).toMatchObject({ recipient: 'ip@inbox.test', status: 'captured' });
    const t = await server.app.ctx.db
      .selectFrom('transmissions')
      .select('api_key_id')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(t.api_key_id).toBe(key.split('.')[0]);

    await server.app.ctx.db
      .updateTable('api_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', t.api_key_id!)
      .execute();
    expect((await anonymous.command('MAIL FROM:<a@example.com>')).code).toBe(530);
    anonymous.close();
  });

  it('refuses SMTP-IP keys without send_smtp or without addresses', async () => {
    await expect(server.newKey({ name: 'open', permissions: ['send_smtp'], smtpIpAuth: true })).rejects.toThrow(
      /needs allowed IPs/,
    );
    await expect(
      server.newKey({ name: 'everyone', permissions: ['send_smtp'], allowedIps: ['0.0.0.0/0'], smtpIpAuth: true }),
    ).rejects.toThrow(/every address/);
    await expect(
      server.newKey({ name: 'api', permissions: ['send_api'], allowedIps: ['127.0.0.1'], smtpIpAuth: true }),
    ).rejects.toThrow(/Send via SMTP/);
  });

  it('refuses a recipient past the daily quota with a reply that names the limit', async () => {
    // One message went out above; two more reach the limit of three.
    const s = await session();
    await s.command('MAIL FROM:<a@example.com>');
    await s.command('RCPT TO:<q1@inbox.test>');
    await s.command('RCPT TO:<q2@inbox.test>');
    queuedId((await data(s)).text);
    await s.command('MAIL FROM:<a@example.com>');
    const over = await s.command('RCPT TO:<q3@inbox.test>');
    s.close();
    expect(over.code).toBe(451);
    expect(over.text).toContain('daily sending limit of 3 messages reached (3 sent today)');
  });

  it('locks a client after five failed authentications, on its own counter', async () => {
    const s = await rawSmtp(port);
    await s.command('EHLO client.test');
    for (let i = 0; i < 5; i++) {
      const reply = await s.command(`AUTH PLAIN ${plainAuth('x', 'wrongkey.' + '0'.repeat(32))}`);
      expect(reply.code).toBe(535);
    }
    // Locked: the right key is not even looked at, on this connection or a new one.
    const locked = await s.command(`AUTH PLAIN ${plainAuth('x', server.key)}`);
    s.close();
    expect(locked.code).toBe(454);
    expect(locked.text).toMatch(/4\.7\.0 Too many failed authentications from .*; try again in \d+ s/);
    const again = await rawSmtp(port);
    await again.command('EHLO client.test');
    expect((await again.command(`AUTH PLAIN ${plainAuth('x', server.key)}`)).code).toBe(454);
    again.close();
    // The HTTP surfaces count their own failures: the same client still reaches the API.
    expect((await server.api.get('/api/v1/whoami')).status).toBe(200);
  });
});

describe(`posthorn start with the SMTP submission server (${dialectName})`, () => {
  let db: TestDatabase;
  let child: ChildServer | null = null;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await child?.stop();
    await db?.drop();
  });

  it('prints the submission URL, and --role smtp runs the SMTP server without the HTTP API', async () => {
    const smtpPort = await freePort();
    child = await startChildServer({
      POSTHORN_DATA_DIR: db.dataDir,
      DATABASE_URL: db.url,
      POSTHORN_ROLE: 'smtp',
      POSTHORN_SMTP_PORT: String(smtpPort),
      POSTHORN_SMTP_HOST: '127.0.0.1',
    });
    expect(child.output()).toContain(
      `SMTP submission: smtp://127.0.0.1:${smtpPort} (STARTTLS, self-signed certificate`,
    );
    expect(child.output()).toContain('role smtp');
    const session = await rawSmtp(smtpPort);
    expect(session.greeting.text).toMatch(/^220 \S+ ESMTP Posthorn submission$/);
    session.close();
    await expect(fetch(`${child.url}/v1/permission`)).rejects.toThrow();
  });
});
