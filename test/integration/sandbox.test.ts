// The sandbox end to end: sandbox keys capture everything they cause (transmissions, mailings,
// test sends, trigger sends) — a real relay sink receives none of it, and /v1/messages shows all
// of it with its raw MIME — except mail to a sandbox recipient who consented on the real
// /p/consent page, which is delivered. Then the sending limits on every way of sending, and on
// PostgreSQL two nodes committing at once that cannot overshoot the daily limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  ApiClient,
  startSecondNode,
  startTestServer,
  waitFor,
  waitForTransmission,
  type TestServer,
} from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';
import { plainAuth, rawSmtp, type SmtpReply } from '../helpers/smtp-client.ts';
import { seedReadySubscribers } from '../helpers/mailing-fixtures.ts';
import type { Posthorn } from '../../src/app.ts';

let unique = 0;
const address = (tag: string) => `${tag}-${++unique}-${randomBytes(3).toString('hex')}@inbox.test`;

/** The message rows of a recipient once they all left the queue. */
async function settledFor(api: ApiClient, recipient: string, n = 1): Promise<any[]> {
  return waitFor(
    async () => {
      const res = await api.get(`/v1/messages?recipient=${encodeURIComponent(recipient)}&size=100`);
      const rows = res.body.data as any[];
      return rows.length >= n && rows.every((m) => !['queued', 'sending'].includes(m.status)) ? rows : null;
    },
    10_000,
    `messages of ${recipient}`,
  );
}

async function createMailing(api: ApiClient, body: Record<string, unknown>): Promise<number> {
  const res = await api.post('/api/v1/mailings', {
    senderEmail: 'news@example.com',
    subject: 'Hi {{ firstname }}',
    text: 'Hello {{ firstname }}',
    ...body,
  });
  expect(res.status, res.text).toBe(201);
  return res.body.data.id as number;
}

describe(`sandbox capture and consent (${dialectName})`, () => {
  let server: TestServer;
  let sink: SmtpSink;
  let sandbox: ApiClient;

  beforeAll(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    });
    sandbox = new ApiClient(server.url, await server.newKey({ name: 'sandbox', environment: 'sandbox' }));
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  /** Sends one production message and waits for it at the sink: whatever was due before has been handled. */
  async function controlDelivered(): Promise<void> {
    const to = address('control');
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: to }],
      subject: 'control',
      bodyText: 'control',
    });
    expect(res.status, res.text).toBe(200);
    await waitFor(async () => sink.messages.some((m) => m.to.includes(to)), 10_000, 'the control message');
  }

  const sinkGot = (email: string) => sink.messages.some((m) => m.to.includes(email));

  it('captures a mailing sent with a sandbox key: nothing reaches the relay, all is in /v1/messages', async () => {
    await seedReadySubscribers(server.app.ctx.db, server.accountIntId, 3);
    const id = await createMailing(server.api, { name: 'sandboxed newsletter' });
    const sent = await sandbox.post(`/api/v1/mailings/${id}/send`);
    expect(sent.status, sent.text).toBe(200);
    for (const i of [0, 1, 2]) {
      const [m] = await settledFor(server.api, `r${i}@example.org`);
      expect(m).toMatchObject({ status: 'captured', sandbox: true, mailingId: id });
      const raw = await server.api.get(`/v1/messages/${m.id}/raw`);
      expect(raw.status).toBe(200);
      expect(raw.text).toContain(`Hi F${i}`);
    }
    await controlDelivered();
    expect(sink.messages.filter((m) => m.to.some((t) => /^r\d@example\.org$/.test(t)))).toEqual([]);
  });

  it('captures test sends of a sandbox key', async () => {
    const id = await createMailing(server.api, { name: 'tested' });
    const to = address('test');
    const res = await sandbox.post(`/api/v1/mailings/${id}/test`, { emails: [to] });
    expect(res.status, res.text).toBe(200);
    const [m] = await settledFor(server.api, to);
    expect(m).toMatchObject({ status: 'captured', sandbox: true });
    expect((await server.api.get(`/v1/messages/${m.id}/raw`)).text).toContain('[Test]');
    await controlDelivered();
    expect(sinkGot(to)).toBe(false);
  });

  it('captures trigger sends of a sandbox key, and all sends of a trigger a sandbox key activated', async () => {
    const live = await createMailing(server.api, { name: 'welcome', type: 'trigger', triggerKey: 'sb-welcome' });
    expect((await server.api.post(`/api/v1/mailings/${live}/send`)).status).toBe(200);
    const bySandboxKey = address('trigger');
    const sent = await sandbox.post('/api/v1/triggerTypes/sb-welcome/send', { email: bySandboxKey });
    expect(sent.status, sent.text).toBe(201);

    const sandboxed = await createMailing(server.api, { name: 'reset', type: 'trigger', triggerKey: 'sb-reset' });
    expect((await sandbox.post(`/api/v1/mailings/${sandboxed}/send`)).status).toBe(200);
    const byProductionKey = address('trigger');
    expect((await server.api.post('/api/v1/triggerTypes/sb-reset/send', { email: byProductionKey })).status).toBe(201);

    for (const to of [bySandboxKey, byProductionKey]) {
      const [m] = await settledFor(server.api, to);
      expect(m).toMatchObject({ status: 'captured', sandbox: true });
      expect((await server.api.get(`/v1/messages/${m.id}/raw`)).status).toBe(200);
    }
    // The same trigger sent by the production key is delivered: the capture is the key's doing.
    const real = address('trigger');
    expect((await server.api.post('/api/v1/triggerTypes/sb-welcome/send', { email: real })).status).toBe(201);
    await waitFor(async () => sinkGot(real), 10_000, 'the production trigger send');
    expect(sinkGot(bySandboxKey) || sinkGot(byProductionKey)).toBe(false);
  });

  it('asks a sandbox recipient for consent; GET changes nothing, the POST with its form token does', async () => {
    const email = address('consent');
    const added = await server.api.post('/v1/sandbox/recipients', { email: email.toUpperCase() });
    expect(added.status, added.text).toBe(201);
    expect(added.body).toMatchObject({ email, status: 'unverified', consentedAt: null });
    const id = added.body.id as string;

    // The consent mail is system mail: delivered for real, with the link.
    const mail = await waitFor(async () => sink.messages.find((m) => m.to.includes(email)), 10_000, 'consent mail');
    const link = /https?:\/\/\S+\/p\/consent\/([A-Za-z0-9_.-]+)/.exec(mail.parsed.text ?? '');
    expect(link).not.toBeNull();
    const page = `${server.url}/p/consent/${link![1]}`;

    const shown = await fetch(page);
    expect(shown.status).toBe(200);
    const html = await shown.text();
    expect(html).toContain('Give consent');
    expect(html).toContain(email);
    expect((await fetch(page, { method: 'HEAD' })).status).toBe(200);
    expect((await server.api.get(`/v1/sandbox/recipients/${id}`)).body.status).toBe('unverified');

    // A POST without the page's form token (a forged form) consents to nothing.
    const forged = await fetch(page, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=0.abc',
    });
    expect(forged.status).toBe(400);
    expect((await server.api.get(`/v1/sandbox/recipients/${id}`)).body.status).toBe('unverified');

    const formToken = /name="token" value="([^"]+)"/.exec(html)![1]!;
    const done = await fetch(page, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: formToken }).toString(),
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('you agreed');
    const verified = (await server.api.get(`/v1/sandbox/recipients/${id}`)).body;
    expect(verified.status).toBe('verified');
    expect(Date.parse(verified.consentedAt)).toBeGreaterThan(0);

    // A forged link is the friendly 404 page.
    expect((await fetch(`${page.slice(0, -3)}xyz`)).status).toBe(404);

    // Consent changes one thing: sandbox mail to this address is delivered for real; others stay captured.
    const other = address('unconsented');
    const sent = await sandbox.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email }, { email: other }],
      subject: 'sandbox hello',
      bodyText: 'hi',
    });
    expect(sent.status, sent.text).toBe(200);
    const rows = await waitForTransmission(server.api, sent.body.transmissionId);
    expect(Object.fromEntries(rows.map((m) => [m.recipient, m.status]))).toEqual({
      [email]: 'delivered',
      [other]: 'captured',
    });
    expect(sink.messages.some((m) => m.to.includes(email) && m.parsed.subject === 'sandbox hello')).toBe(true);
    expect(sinkGot(other)).toBe(false);
  });

  it('lists, reads and removes sandbox recipients, only the account’s own', async () => {
    const a = address('list');
    const b = address('list');
    const first = await server.api.post('/v1/sandbox/recipients', { email: a });
    expect(first.status).toBe(201);
    expect((await server.api.post('/v1/sandbox/recipients', { email: b })).status).toBe(201);
    const again = await server.api.post('/v1/sandbox/recipients', { email: a });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);

    const list = await server.api.get('/v1/sandbox/recipients?size=1000');
    expect(list.status).toBe(200);
    expect(list.body.data.map((r: any) => r.email)).toEqual(expect.arrayContaining([a, b]));
    expect(list.body.count).toBe(list.body.data.length);

    const bad = await server.api.post('/v1/sandbox/recipients', { email: 'not an address' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].code).toBe('1405');

    const other = await server.newAccount();
    expect((await other.api.get(`/v1/sandbox/recipients/${first.body.id}`)).status).toBe(404);
    expect((await other.api.delete(`/v1/sandbox/recipients/${first.body.id}`)).status).toBe(404);
    expect((await other.api.delete(`/v1/sandbox/recipients?email=${encodeURIComponent(a)}`)).status).toBe(404);
    expect((await other.api.get('/v1/sandbox/recipients')).body).toEqual({ count: 0, data: [] });

    const removed = await server.api.delete(`/v1/sandbox/recipients/${first.body.id}`);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ message: 'Sandbox recipient deleted', id: first.body.id });
    expect((await server.api.get(`/v1/sandbox/recipients/${first.body.id}`)).status).toBe(404);
    const byEmail = await server.api.delete(`/v1/sandbox/recipients?email=${encodeURIComponent(b)}`);
    expect(byEmail.status).toBe(200);
    expect((await server.api.get(`/v1/sandbox/recipients/${byEmail.body.id}`)).status).toBe(404);
  });
});

describe(`sending limits everywhere (${dialectName})`, () => {
  let server: TestServer;
  let sandbox: ApiClient;

  beforeAll(async () => {
    server = await startTestServer(
      { POSTHORN_DAILY_LIMIT: '6', POSTHORN_SANDBOX_DAILY_LIMIT: '2', POSTHORN_SMTP_ALLOW_INSECURE_AUTH: 'true' },
      { smtp: true },
    );
    sandbox = new ApiClient(server.url, await server.newKey({ name: 'sandbox', environment: 'sandbox' }));
  });

  /** One message over SMTP (AUTH PLAIN with `key`); the replies to RCPT TO and to DATA. */
  async function smtpSend(key: string, headers = ''): Promise<{ rcpt: SmtpReply; data: SmtpReply | null }> {
    const s = await rawSmtp(server.app.smtp!.port);
    try {
      await s.command('EHLO client.test');
      expect((await s.command(`AUTH PLAIN ${plainAuth('smtp_mt_injection', key)}`)).code).toBe(235);
      await s.command('MAIL FROM:<app@example.com>');
      const rcpt = await s.command(`RCPT TO:<${address('smtp')}>`);
      if (rcpt.code !== 250) return { rcpt, data: null };
      expect((await s.command('DATA')).code).toBe(354);
      await s.write(`From: app@example.com\r\nSubject: hi\r\n${headers}\r\nhello\r\n.\r\n`);
      return { rcpt, data: await s.reply() };
    } finally {
      s.close();
    }
  }
  afterAll(async () => {
    await server?.close();
  });

  const transmit = (api: ApiClient, n: number) =>
    api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: Array.from({ length: n }, () => ({ email: address('quota') })),
      subject: 'hi',
      bodyText: 'hi',
    });

  it('answers the sandbox daily limit with 420 / 1420, on keys and on optionsAttributes.sandbox', async () => {
    expect((await transmit(sandbox, 2)).status).toBe(200);
    const over = await transmit(sandbox, 1);
    expect(over.status).toBe(420);
    expect(over.body.errors[0]).toMatchObject({ code: '1420' });
    expect(over.body.errors[0].description).toContain('sandbox daily sending limit of 2 messages reached');
    const flagged = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: address('quota') }],
      subject: 'hi',
      bodyText: 'hi',
      optionsAttributes: { sandbox: true },
    });
    expect(flagged.status).toBe(420);
    // Over SMTP: a sandbox key is refused at RCPT, X-MT-Sandbox at DATA, both naming the limit.
    const byKey = await smtpSend(sandbox.key!);
    expect(byKey.rcpt.code).toBe(451);
    expect(byKey.rcpt.text).toContain(
      'sandbox daily sending limit of 2 messages reached (2 sent in the sandbox today)',
    );
    const byHeader = await smtpSend(server.key, 'X-MT-Sandbox: true\r\n');
    expect(byHeader.rcpt.code).toBe(250);
    expect(byHeader.data!.code).toBe(451);
    expect(byHeader.data!.text).toContain('sandbox daily sending limit of 2 messages reached');
    // Production mail is not held back by the sandbox's limit.
    expect((await transmit(server.api, 1)).status).toBe(200);
  });

  it('does not start a mailing whose audience passes the daily limit', async () => {
    await seedReadySubscribers(server.app.ctx.db, server.accountIntId, 4);
    const id = await createMailing(server.api, { name: 'too big' });
    const res = await server.api.post(`/api/v1/mailings/${id}/send`);
    expect(res.status).toBe(429);
    expect(res.text).toContain('daily sending limit of 6 messages reached (3 sent today)');
    expect(res.text).toContain('4 recipients');
    expect((await server.api.get(`/api/v1/mailings/${id}`)).body.data.status).toBe('draft');
  });

  it('holds trigger sends and test sends to the limit', async () => {
    const trigger = await createMailing(server.api, { name: 'welcome', type: 'trigger', triggerKey: 'q-welcome' });
    expect((await server.api.post(`/api/v1/mailings/${trigger}/send`)).status).toBe(200);
    // 3 used: three more fit, the fourth does not.
    for (let i = 0; i < 3; i++)
      expect((await server.api.post('/api/v1/triggerTypes/q-welcome/send', { email: address('t') })).status).toBe(201);
    const over = await server.api.post('/api/v1/triggerTypes/q-welcome/send', { email: address('t') });
    expect(over.status).toBe(429);
    expect(over.text).toContain('daily sending limit of 6 messages reached (6 sent today)');
    const test = await server.api.post(`/api/v1/mailings/${trigger}/test`, { emails: [address('t')] });
    expect(test.status).toBe(429);
    expect((await transmit(server.api, 1)).status).toBe(420);
    const smtp = await smtpSend(server.key);
    expect(smtp.rcpt.code).toBe(451);
    expect(smtp.rcpt.text).toContain('daily sending limit of 6 messages reached (6 sent today)');
  });
});

describe(`a running mailing that reaches the limit (${dialectName})`, () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_DAILY_LIMIT: '3' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('pauses, with nothing of the batch that would pass the limit queued', async () => {
    await seedReadySubscribers(server.app.ctx.db, server.accountIntId, 2);
    const id = await createMailing(server.api, { name: 'scheduled' });
    const at = new Date(Date.now() + 2000).toISOString().slice(0, 19).replace('T', ' ');
    const scheduled = await server.api.post(`/api/v1/mailings/${id}/schedule`, { scheduledAt: at });
    expect(scheduled.status, scheduled.text).toBe(200);
    // Before it starts, other mail uses the quota: 2 of 3.
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: address('before') }, { email: address('before') }],
      subject: 'hi',
      bodyText: 'hi',
    });
    expect(res.status, res.text).toBe(200);
    await waitFor(
      async () => (await server.api.get(`/api/v1/mailings/${id}`)).body.data.status === 'paused',
      15_000,
      'the mailing to pause',
    );
    const rows = await server.app.ctx.db
      .selectFrom('messages')
      .select('id')
      .where('mailing_id', '=', String(id))
      .execute();
    expect(rows).toEqual([]);
  });
});

describe(`no overshoot with concurrent committers (${dialectName})`, () => {
  let server: TestServer;
  let second: Posthorn;
  const LIMIT = 25;

  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_DAILY_LIMIT: String(LIMIT), POSTHORN_V1_RATE_PER_SECOND: '0' });
    second = await startSecondNode(server, { POSTHORN_DAILY_LIMIT: String(LIMIT), POSTHORN_V1_RATE_PER_SECOND: '0' });
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('accepts exactly the limit when two nodes take 80 parallel sends', async () => {
    const nodes = [server.api, new ApiClient(second.url!, server.key)];
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        nodes[i % 2]!.post('/v1/layang/transmissions', {
          from: { email: 'app@example.com' },
          to: [{ email: address('race') }],
          subject: 'race',
          bodyText: 'race',
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 420)).toEqual([]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    const stored = await server.app.ctx.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', server.accountId)
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(LIMIT);
    const usage = await server.app.ctx.db
      .selectFrom('account_usage')
      .select('sent')
      .where('account_id', '=', server.accountId)
      .execute();
    expect(usage.reduce((sum, r) => sum + Number(r.sent), 0)).toBe(LIMIT);
  });
});
