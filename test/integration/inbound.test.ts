// The inbound receiver of the return path, end to end over real SMTP: messages go out through a
// real relay sink with their VERP envelope sender, and reports about them (the fixture corpus,
// filled in with each message's return path, Message-ID and recipients, and a DSN built from what
// the sink received) are delivered to the inbound port with nodemailer. Asserted: the matched
// message, class, event, outbox status, suppression, subscriber status and webhooks; relaying
// refused; unknown reports kept and listed (unmatched ones for the operator's account only);
// malformed and oversized messages neither crash nor stop the receiver; mailto unsubscribes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { rawSmtp } from '../helpers/smtp-client.ts';
import { dialectName } from '../helpers/database.ts';
import { loadConfig } from '../../src/config.ts';
import { startPosthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import {
  BOUNCE_FIXTURES,
  COMPLAINT_FIXTURES,
  OTHER_FIXTURES,
  envelopeRecipient,
  fillFixture,
  type FixtureValues,
} from '../helpers/inbound-fixtures.ts';

const RETURN_PATH = 'bounces.posthorn.test';
const FINAL = new Set(['delivered', 'bounced', 'suppressed', 'captured', 'cancelled']);

let unique = 0;
const address = (tag: string) => `${tag}-${++unique}-${randomBytes(3).toString('hex')}@recipient.example`;

interface SentRow {
  id: string;
  recipient: string;
  messageIdHeader: string;
  /** The envelope sender the relay sink saw: the VERP return path. */
  verp: string;
}

describe(`inbound receiver (${dialectName})`, () => {
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let server: TestServer;
  let api: ApiClient;
  let inboundPort: number;

  beforeAll(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    server = await startTestServer(
      {
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        POSTHORN_RETURN_PATH_DOMAIN: RETURN_PATH,
        POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
        POSTHORN_WEBHOOK_POLL_MS: '50',
        POSTHORN_INBOUND_MAX_MESSAGE_MB: '1',
      },
      { inbound: true },
    );
    api = server.api;
    inboundPort = server.app.inbound!.port;
    const tx = await api.post('/v1/webhooks', {
      target: receiver.url,
      events: ['bounce', 'delay', 'spam_complaint'],
    });
    expect(tx.status, tx.text).toBe(201);
    const mk = await api.post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['message.complained', 'message.bounced'],
    });
    expect(mk.status, mk.text).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await receiver?.close();
  });

  /** Sends one transmission to these recipients through the relay and waits until it has left. */
  async function sendTo(recipients: string[]): Promise<SentRow[]> {
    const res = await api.post('/v1/layang/transmissions', {
      from: { email: 'shop@example.com', name: 'Shop' },
      to: recipients.map((email) => ({ email })),
      subject: 'Your receipt',
      bodyText: 'Thank you for your order.',
    });
    expect(res.status, res.text).toBe(200);
    const rows = await waitFor(
      async () => {
        const data = (await api.get(`/v1/messages?transmissionId=${res.body.transmissionId}`)).body.data as any[];
        return data.length === recipients.length && data.every((m) => FINAL.has(m.status)) ? data : null;
      },
      15_000,
      'the transmission to leave',
    );
    return recipients.map((recipient) => {
      const row = rows.find((r) => r.recipient === recipient)!;
      expect(row.status).toBe('delivered');
      const received = sink.messages.find((m) => m.to.includes(recipient))!;
      return { id: row.id, recipient, messageIdHeader: row.messageIdHeader, verp: received.from };
    });
  }

  /** Delivers a report to the inbound port as a mail system would: null sender, one recipient. */
  async function deliver(raw: string | Buffer, to: string, from = ''): Promise<string> {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: inboundPort,
      secure: false,
      ignoreTLS: true,
    });
    try {
      const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
      return info.response;
    } finally {
      transport.close();
    }
  }

  const reportIdOf = (response: string) => /report ([0-9a-f]{24})/.exec(response)![1];

  async function eventsOf(messageId: string): Promise<Array<{ type: string; data: any; recipient: string }>> {
    const rows = await server.app.ctx.db
      .selectFrom('events')
      .select(['type', 'data', 'recipient'])
      .where('message_id', '=', messageId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ type: r.type, recipient: r.recipient!, data: r.data ? JSON.parse(r.data) : {} }));
  }

  async function message(id: string): Promise<any> {
    const res = await api.get(`/v1/messages/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  async function suppression(email: string): Promise<any> {
    const res = await api.get(`/v1/suppressions/lookup?email=${encodeURIComponent(email)}`);
    expect(res.status, res.text).toBe(200);
    return res.body.suppression;
  }

  const webhookEvents = () => receiver.deliveries.flatMap((d) => d.json?.events ?? []);

  function valuesFor(rows: SentRow[]): FixtureValues {
    return {
      verp: rows[0].verp,
      messageId: rows[0].messageIdHeader,
      rcpt: rows.map((r) => r.recipient),
      from: 'Shop <shop@example.com>',
      returnPathDomain: RETURN_PATH,
    };
  }

  it('sends with the VERP return path the receiver takes mail for', async () => {
    const [row] = await sendTo([address('verp')]);
    expect(row.verp).toBe(`bounces+${row.id}@${RETURN_PATH}`);
  });

  describe('each bounce of the corpus', () => {
    it.each(BOUNCE_FIXTURES.map((f) => [f.file, f] as const))('%s', async (file, f) => {
      const rows = await sendTo(Array.from({ length: f.recipients }, () => address(file.split('.')[0])));
      const values = valuesFor(rows);
      const response = await deliver(fillFixture(file, values), envelopeRecipient(f, values));
      expect(response).toMatch(/^250 2\.0\.0 Ok: report [0-9a-f]{24} \(bounce, matched\)/);

      for (const expected of f.outcomes) {
        const row = rows[expected.rcpt - 1];
        const type = expected.action === 'delayed' ? 'delay' : 'bounce';
        const events = (await eventsOf(row.id)).filter((e) => e.type === type);
        expect(events, `${type} event of ${row.recipient}`).toHaveLength(1);
        expect(events[0]).toMatchObject({
          recipient: row.recipient,
          data: { bounceClass: expected.bounceClass, outOfBand: true, reason: expect.any(String) },
        });
        const m = await message(row.id);
        if (type === 'bounce') expect(m).toMatchObject({ status: 'bounced', bounceClass: expected.bounceClass });
        else expect(m.status).toBe('delivered');
        // Hard bounces (class 10) suppress at once; a block (50), one soft bounce or a delay do not.
        const entry = await suppression(row.recipient);
        if (type === 'bounce' && expected.bounceClass === 10) expect(entry).toMatchObject({ type: 'bounce' });
        else expect(entry).toBeNull();
      }
      const report = await api.get(`/v1/inbound/${reportIdOf(response)}`);
      expect(report.status, report.text).toBe(200);
      expect(report.body).toMatchObject({ kind: 'bounce', format: f.format, outcome: 'matched', matched: true });
      expect(report.body.messageId).toBe(rows[f.outcomes[0].rcpt - 1].id);
    });

    it('reached the transactional and the marketing webhooks with the class and the reason', async () => {
      const [row] = await sendTo([address('hooked')]);
      const values = valuesFor([row]);
      await deliver(fillFixture('gmail-dsn-address-not-found.eml', values), values.verp);
      const [tx, mk] = await waitFor(
        async () => {
          const all = webhookEvents();
          const t = all.find((e) => e.type === 'bounce' && e.messageId === row.id);
          const m = all.find((e) => e.event === 'message.bounced' && e.data?.messageId === row.id);
          return t && m ? [t, m] : null;
        },
        10_000,
        'the bounce webhooks',
      );
      expect(tx).toMatchObject({ recipient: row.recipient, bounceClass: 10, outOfBand: true });
      expect(tx.reason).toContain('5.1.1');
      expect(mk.data).toMatchObject({ bounceClass: 10 });
    });
  });

  describe('complaints', () => {
    it.each(COMPLAINT_FIXTURES.map((f) => [f.file, f] as const))(
      '%s: spam_complaint, webhook, subscriber 3/4, suppression',
      async (file, f) => {
        const email = address('complaint');
        const created = await api.post('/api/v1/subscribers', { email });
        expect(created.status, created.text).toBe(201);
        const subscriberId = created.body.data.id;
        const rows = await sendTo([email]);
        const values = valuesFor(rows);
        const response = await deliver(fillFixture(file, values), envelopeRecipient(f, values));
        expect(response).toMatch(/\(complaint, matched\)/);

        // A provider repeating its report is one complaint.
        expect(await deliver(fillFixture(file, values), envelopeRecipient(f, values))).toMatch(
          /\(complaint, ignored\)/,
        );
        const events = (await eventsOf(rows[0].id)).filter((e) => e.type === 'spam_complaint');
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ recipient: email, data: { feedbackType: 'abuse', outOfBand: true } });
        expect((await suppression(email)).type).toBe('spam_complaint');
        const sub = await api.get(`/api/v1/subscribers/${subscriberId}`);
        expect(sub.body.data).toMatchObject({ status: 3, statusAddition: 4 });
        await waitFor(
          async () =>
            webhookEvents().some((e) => e.event === 'message.complained' && e.data?.messageId === rows[0].id) &&
            webhookEvents().some((e) => e.type === 'spam_complaint' && e.messageId === rows[0].id),
          10_000,
          'the complaint webhooks',
        );
      },
    );
  });

  describe('auto-replies and other mail', () => {
    it.each(OTHER_FIXTURES.filter((f) => f.kind === 'auto_reply').map((f) => [f.file] as const))(
      '%s: a class-60 bounce is recorded and nothing is suppressed',
      async (file) => {
        const rows = await sendTo([address('away')]);
        const values = valuesFor(rows);
        const response = await deliver(fillFixture(file, values), values.verp, rows[0].recipient);
        expect(response).toMatch(/\(auto_reply, matched\)/);
        expect((await eventsOf(rows[0].id)).filter((e) => e.type === 'bounce')).toMatchObject([
          { data: { bounceClass: 60, outOfBand: true } },
        ]);
        expect((await message(rows[0].id)).status).toBe('delivered');
        expect(await suppression(rows[0].recipient)).toBeNull();
      },
    );

    it('keeps a report it cannot read, listed for the account of the message it names', async () => {
      const rows = await sendTo([address('human')]);
      const values = valuesFor(rows);
      const response = await deliver(fillFixture('human-reply-unknown.eml', values), values.verp);
      expect(response).toMatch(/\(unknown, ignored\)/);
      const id = reportIdOf(response);
      const list = await api.get('/v1/inbound?kind=unknown&size=100');
      expect(list.status, list.text).toBe(200);
      expect(list.body.data.find((r: any) => r.id === id)).toMatchObject({
        kind: 'unknown',
        outcome: 'ignored',
        matched: true,
        messageId: rows[0].id,
        subject: 'Re: Your receipt',
      });
      const one = await api.get(`/v1/inbound/${id}`);
      expect(one.body.raw).toContain('meant to send this to my colleague');
      expect((await eventsOf(rows[0].id)).map((e) => e.type)).toEqual(['injection', 'delivery']);
    });
  });

  describe('end to end: a message bounced asynchronously by the receiving side', () => {
    it('bounced row, event, webhook, suppression list, and the next transmission suppressed', async () => {
      const email = address('async');
      const [row] = await sendTo([email]);
      // The receiving MTA accepted the message, then failed to deliver it: it builds a DSN from what
      // it received and sends it to the envelope sender, as RFC 3464 has it.
      const received = sink.messages.find((m) => m.to.includes(email))!;
      const head = received.raw.toString('latin1').split('\r\n\r\n')[0];
      const dsn = [
        'From: Mail Delivery System <MAILER-DAEMON@mx.recipient.example>',
        `To: ${received.from}`,
        'Subject: Undelivered Mail Returned to Sender',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="stand-in"',
        '',
        '--stand-in',
        'Content-Type: text/plain',
        '',
        `<${email}>: mailbox does not exist`,
        '--stand-in',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.recipient.example',
        '',
        `Final-Recipient: rfc822; ${email}`,
        'Action: failed',
        'Status: 5.1.1',
        `Diagnostic-Code: smtp; 550 5.1.1 <${email}>: Recipient address rejected: User unknown`,
        '',
        '--stand-in',
        'Content-Type: text/rfc822-headers',
        '',
        head,
        '',
        '--stand-in--',
        '',
      ].join('\r\n');
      expect(await deliver(dsn, received.from)).toMatch(/\(bounce, matched\)/);
      // The MTA sends it again (it never saw our 250): still one bounce.
      expect(await deliver(dsn, received.from)).toMatch(/\(bounce, ignored\)/);

      expect(await message(row.id)).toMatchObject({ status: 'bounced', bounceClass: 10 });
      expect((await eventsOf(row.id)).map((e) => e.type)).toEqual(['injection', 'delivery', 'bounce']);
      await waitFor(
        async () => webhookEvents().find((e) => e.type === 'bounce' && e.messageId === row.id),
        10_000,
        'the bounce webhook',
      );
      const list = await api.get(`/v1/suppression/list?email=${encodeURIComponent(email)}`);
      expect(list.body).toMatchObject({ count: 1, data: [{ email, type: 'bounce' }] });
      const next = await api.post('/v1/layang/transmissions', {
        from: { email: 'shop@example.com' },
        to: [{ email }],
        subject: 'Again',
        bodyText: 'Again',
      });
      const [again] = await waitFor(
        async () => {
          const data = (await api.get(`/v1/messages?transmissionId=${next.body.transmissionId}`)).body.data as any[];
          return data.length === 1 && FINAL.has(data[0].status) ? data : null;
        },
        10_000,
        'the second transmission',
      );
      expect(again).toMatchObject({ status: 'suppressed', bounceClass: 50 });
      expect(sink.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
    });
  });

  describe('the SMTP surface', () => {
    it('refuses relaying at RCPT with 550 5.7.1 and accepts only return-path addresses', async () => {
      const [row] = await sendTo([address('rcpt')]);
      const s = await rawSmtp(inboundPort);
      try {
        expect(s.greeting.code).toBe(220);
        expect((await s.command('EHLO mx.reporter.example')).text).not.toMatch(/AUTH/);
        expect((await s.command('MAIL FROM:<>')).code).toBe(250);
        for (const to of [
          'someone@gmail.example',
          'postmaster@elsewhere.example',
          'bounces+ffffffffffffffffffffffff@elsewhere.example',
        ]) {
          const reply = await s.command(`RCPT TO:<${to}>`);
          expect(reply.code, to).toBe(550);
          expect(reply.text).toMatch(/5\.7\.1/);
        }
        // A message's own VERP address, whatever host it went out with, and the report mailboxes of
        // the return-path domain.
        for (const to of [row.verp, `bounces+${row.id}@example.com`, `fbl@${RETURN_PATH}`, `postmaster@${RETURN_PATH}`])
          expect((await s.command(`RCPT TO:<${to}>`)).code, to).toBe(250);
        expect((await s.command('AUTH PLAIN AGFAYg==')).code).toBeGreaterThanOrEqual(500);
      } finally {
        s.close();
      }
      await expect(deliver('Subject: x\r\n\r\nx\r\n', 'someone@gmail.example')).rejects.toThrow(/5\.7\.1/);
    });

    it('runs in the smtp role (both SMTP servers, no HTTP) on the same store', async () => {
      const config = loadConfig({
        POSTHORN_DATA_DIR: server.db.dataDir,
        DATABASE_URL: server.db.url,
        POSTHORN_ROLE: 'smtp',
        POSTHORN_RETURN_PATH_DOMAIN: RETURN_PATH,
        LOG_LEVEL: 'silent',
      });
      config.smtp.port = 0;
      config.inbound.port = 0;
      const node = await startPosthorn(config, { log: createLogger('silent') });
      try {
        expect(node.http).toBeNull();
        expect(node.smtp).not.toBeNull();
        expect(node.inbound!.url).toMatch(/^smtp:\/\/localhost:\d+$/);
        const [row] = await sendTo([address('smtp-role')]);
        const values = valuesFor([row]);
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: node.inbound!.port, ignoreTLS: true });
        const info = await transport.sendMail({
          envelope: { from: '', to: [values.verp] },
          raw: fillFixture('qmail-no-mailbox.eml', values),
        });
        transport.close();
        expect(info.response).toMatch(/\(bounce, matched\)/);
        expect(await message(row.id)).toMatchObject({ status: 'bounced', bounceClass: 10 });
      } finally {
        await node.close();
      }
    });

    it('keeps an unmatched report for the operator’s account only', async () => {
      const dsn = fillFixture('amazonses-dsn-by-message-id.eml', {
        verp: `bounces+000000000000000000000000@${RETURN_PATH}`,
        messageId: 'no-such-message@elsewhere.example',
        rcpt: ['ghost@recipient.example'],
        from: 'x@elsewhere.example',
        returnPathDomain: RETURN_PATH,
      });
      const response = await deliver(dsn, `bounces@${RETURN_PATH}`);
      expect(response).toMatch(/\(bounce, unmatched\)/);
      const id = reportIdOf(response);
      const mine = await api.get('/v1/inbound?outcome=unmatched&size=100');
      expect(mine.body.data.find((r: any) => r.id === id)).toMatchObject({ matched: false, outcome: 'unmatched' });
      const other = await server.newAccount();
      const theirs = await other.api.get('/v1/inbound?size=100');
      expect(theirs.status).toBe(200);
      expect(theirs.body.data.find((r: any) => r.id === id)).toBeUndefined();
      expect((await other.api.get(`/v1/inbound/${id}`)).status).toBe(404);
      expect((await api.get('/v1/inbound?kind=nonsense')).status).toBe(422);
    });

    it('survives malformed messages and refuses oversized ones without holding them', async () => {
      const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
      for (const raw of [
        garbage,
        'Content-Type: multipart/report; boundary="\r\n\r\n--\r\n--\r\n',
        'no header at all',
      ]) {
        const response = await deliver(raw, `bounces@${RETURN_PATH}`);
        expect(response).toMatch(/^250 /);
      }
      const big = Buffer.alloc(1.5 * 1024 * 1024, 'a');
      await expect(
        deliver(Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), big]), `bounces@${RETURN_PATH}`),
      ).rejects.toThrow(/552/);
      const stats = server.app.inbound!.stats;
      expect(stats.refusedOversized).toBeGreaterThanOrEqual(1);
      expect(stats.peakMessageBytesHeld).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
      // Still answering.
      expect(await deliver('Subject: after\r\n\r\nok\r\n', `postmaster@${RETURN_PATH}`)).toMatch(/^250 /);
    });
  });

  describe('mailto unsubscribes', () => {
    it('unsubscribes through the List-Unsubscribe mailto of a mailing, as the one-click link does', async () => {
      const email = address('mailto');
      const created = await api.post('/api/v1/subscribers', { email });
      expect(created.status, created.text).toBe(201);
      const subscriberId = created.body.data.id;
      const mailing = await api.post('/api/v1/mailings', {
        name: 'News',
        senderEmail: 'news@example.com',
        subject: 'News',
        text: 'News {{ unsubscribeUrl }}',
      });
      expect(mailing.status, mailing.text).toBe(201);
      expect((await api.post(`/api/v1/mailings/${mailing.body.data.id}/send`)).status).toBe(200);
      const received = await waitFor(
        async () => sink.messages.find((m) => m.to.includes(email)),
        15_000,
        'the mailing to arrive',
      );
      // The header as it went out (unfolded): `<https://…/p/unsubscribe/…>, <mailto:unsubscribe+<id>@…?subject=unsubscribe>`.
      const head = received.raw
        .toString('latin1')
        .split('\r\n\r\n')[0]
        .replace(/\r\n[ \t]+/g, ' ');
      const mailto = /^List-Unsubscribe:.*<mailto:([^?>]+)/im.exec(head)![1];
      expect(mailto).toMatch(new RegExp(`^unsubscribe\\+[0-9a-f]{24}@${RETURN_PATH.replace(/\./g, '\\.')}$`));

      const response = await deliver(
        `From: ${email}\r\nTo: ${mailto}\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n`,
        mailto,
        email,
      );
      expect(response).toMatch(/\(unsubscribe, matched\)/);
      const sub = await api.get(`/api/v1/subscribers/${subscriberId}`);
      expect(sub.body.data).toMatchObject({ status: 3, statusAddition: 2 });
      expect((await suppression(email)).type).toBe('unsubscribe');
    });
  });
});
