// The suppression list and its policy, end to end: every route of the suppression API (shapes,
// paging, filters, idempotent create, errors in the transactional dialect, permission, another
// account's ids), and the policy through a real relay sink and the real event path: a 550 at RCPT
// suppresses at once, five soft bounces in a row do and a delivery between resets the count, an
// unsubscribe holds back marketing mail but not transactional mail, a complaint archives the
// subscriber (3/4) with its webhooks, and removing an entry resubscribes nobody.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestServer, waitFor, type ApiClient, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { relayTo } from '../helpers/relay-server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { dialectName } from '../helpers/database.ts';
import { recordEvents } from '../../src/events/record-events.ts';
import { sealToken } from '../../src/domain/tokens.ts';
import type { NewEvent } from '../../src/store/events.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const FINAL = new Set(['delivered', 'bounced', 'suppressed', 'captured', 'cancelled']);

let unique = 0;
/** An address of its own per call, so tests sharing the sink and the list never see each other's. */
function address(tag: string): string {
  return `${tag}-${++unique}-${randomBytes(3).toString('hex')}@example.org`;
}

function expectError(res: ApiResponse, status: number, code: string, description?: RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0]).toMatchObject({ code, message: expect.any(String), description: expect.any(String) });
  if (description) expect(res.body.errors[0].description).toMatch(description);
}

async function lookup(api: ApiClient, email: string): Promise<any> {
  const res = await api.get(`/v1/suppressions/lookup?email=${encodeURIComponent(email)}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function send(api: ApiClient, to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/v1/layang/transmissions', {
    from: { email: 'sender@example.com' },
    to: [{ email: to }],
    subject: 'Hello',
    bodyText: 'Hello',
    ...extra,
  });
  expect(res.status, res.text).toBe(200);
  return res.body.transmissionId;
}

/** Sends one message and waits for its final status (deferred is not final). */
async function sendAndSettle(api: ApiClient, to: string, extra: Record<string, unknown> = {}): Promise<any> {
  const id = await send(api, to, extra);
  const [m] = await waitFor(
    async () => {
      const data = (await api.get(`/v1/messages?transmissionId=${id}`)).body.data as any[];
      return data.length > 0 && data.every((r) => FINAL.has(r.status)) ? data : null;
    },
    10_000,
    `transmission ${id}`,
  );
  return m;
}

describe(`suppression list and policy (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;
  let api: ApiClient;
  let receiver: WebhookReceiver;

  const receivedBy = (to: string) => sink.messages.filter((m) => m.to.includes(to));

  /** Records events the way every source does (the worker, the inbound receiver, the public pages). */
  async function recordThroughEventPath(events: Array<Partial<NewEvent> & { type: string; recipient: string }>) {
    const { ctx } = server.app;
    await ctx.db.transaction().execute((trx) =>
      recordEvents(
        trx,
        events.map((e) => ({
          account_id: server.accountId,
          message_id: null,
          transmission_id: null,
          mailing_id: null,
          data: null,
          created_at: Date.now(),
          ...e,
        })),
        { policy: ctx.config.suppression },
      ),
    );
  }

  async function newSubscriber(email: string, channels: number[] = []): Promise<number> {
    const res = await api.post('/api/v1/subscribers', { email, channels });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data).toMatchObject({ status: 1, statusAddition: null });
    return res.body.data.id;
  }

  async function subscriber(id: number): Promise<any> {
    const res = await api.get(`/api/v1/subscribers/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.body.data;
  }

  async function newChannel(name: string): Promise<number> {
    const res = await api.post('/api/v1/channels', { name, senderEmail: 'news@example.com' });
    expect(res.status, res.text).toBe(201);
    return res.body.data.id;
  }

  async function newMailing(name: string, channelId: number): Promise<number> {
    const res = await api.post('/api/v1/mailings', {
      name,
      subject: name,
      html: `<p>${name}</p>`,
      senderEmail: 'news@example.com',
      channelId,
    });
    expect(res.status, res.text).toBe(201);
    return res.body.data.id;
  }

  /** Presses the unsubscribe link of the subscriber's mail (one-click, RFC 8058); channel null: everything. */
  async function unsubscribeByLink(subscriberId: number, channelId: number | null): Promise<void> {
    const token = sealToken(server.app.ctx.secret, {
      purpose: 'unsubscribe',
      accountId: server.accountId,
      subscriberId,
      channelId,
      exp: Date.now() + 3_600_000,
    });
    const page = await fetch(`${server.url}/p/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(page.status).toBe(200);
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    server = await startTestServer({
      ...relayTo(sink),
      // A temporary failure is final at once: each 4xx is one soft bounce, no retries to wait for.
      POSTHORN_RETRY_MAX_AGE: '0s',
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
      POSTHORN_WEBHOOK_POLL_MS: '50',
    });
    api = server.api;
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await receiver?.close();
  });

  describe('the API', () => {
    it('creates an entry (201, manual by default), and the same address again answers it (200)', async () => {
      const email = address('manual');
      const created = await api.post('/v1/suppressions', { email: email.toUpperCase(), reason: 'Asked us by phone' });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{24}$/),
        email,
        type: 'manual',
        reason: 'Asked us by phone',
        createdAt: expect.stringMatching(ISO),
        blocksTransactional: true,
      });
      const again = await api.post('/v1/suppressions', { email, type: 'bounce', reason: 'other' });
      expect(again.status, again.text).toBe(200);
      expect(again.body).toEqual(created.body);
      // Empty strings are absent values (real clients send them): the type defaults to manual.
      const blank = await api.post('/v1/suppressions', { email: address('blank'), type: '', reason: '' });
      expect(blank.status, blank.text).toBe(201);
      expect(blank.body).toMatchObject({ type: 'manual', reason: 'Added through the API' });
    });

    it('refuses bad bodies in the transactional dialect', async () => {
      expectError(await api.post('/v1/suppressions', {}), 422, '1400', /email/);
      expectError(await api.post('/v1/suppressions', { email: '' }), 422, '1400', /email/);
      expectError(await api.post('/v1/suppressions', { email: 'not-an-address' }), 422, '1405');
      expectError(await api.post('/v1/suppressions', { email: 42 }), 422, '1401');
      expectError(await api.post('/v1/suppressions', { email: address('t'), type: 'hard' }), 422, '1401', /type/);
      expectError(await api.post('/v1/suppressions', { email: address('r'), reason: 'a\nb' }), 422, '1401', /reason/);
      expectError(await api.post('/v1/suppressions', { email: address('r'), reason: 'x'.repeat(1001) }), 422, '1401');
      const raw = await api.request('POST', '/v1/suppressions', {
        rawBody: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      expectError(raw, 400, '1410');
    });

    it('lists newest first with the contract shape (createdAt in Unix ms), paged and filtered', async () => {
      const other = await server.newAccount(); // a clean list to count on
      const emails = [address('l1'), address('l2'), address('l3')];
      const types = ['bounce', 'spam_complaint', 'bounce'];
      const before = Date.now();
      for (let i = 0; i < emails.length; i++) {
        const res = await other.api.post('/v1/suppressions', { email: emails[i], type: types[i], reason: `r${i}` });
        expect(res.status, res.text).toBe(201);
      }
      const all = await other.api.get('/v1/suppression/list');
      expect(all.status, all.text).toBe(200);
      expect(all.body.count).toBe(3);
      expect(all.body.data.map((e: any) => e.email)).toEqual([...emails].reverse());
      const first = all.body.data[2];
      expect(first).toEqual({
        email: emails[0],
        type: 'bounce',
        reason: 'r0',
        createdAt: expect.any(Number),
        id: expect.any(String),
      });
      expect(Number.isInteger(first.createdAt)).toBe(true);
      expect(first.createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(first.createdAt).toBeLessThanOrEqual(Date.now());

      const page2 = await other.api.get('/v1/suppression/list?page=2&size=2');
      expect(page2.body).toMatchObject({ count: 3, data: [{ email: emails[0] }] });
      const bounces = await other.api.get('/v1/suppression/list?type=bounce');
      expect(bounces.body.count).toBe(2);
      expect(bounces.body.data.map((e: any) => e.email)).toEqual([emails[2], emails[0]]);
      const one = await other.api.get(`/v1/suppression/list?email=${encodeURIComponent(emails[1]!.toUpperCase())}`);
      expect(one.body).toMatchObject({ count: 1, data: [{ email: emails[1], type: 'spam_complaint' }] });
      expect((await other.api.get('/v1/suppression/list?type=')).body.count).toBe(3);
      const none = await other.api.get('/v1/suppression/list?type=manual');
      expect(none.body).toEqual({ count: 0, data: [] });

      expectError(await other.api.get('/v1/suppression/list?type=hard'), 422, '1401', /type/);
      expectError(await other.api.get('/v1/suppression/list?size=1001'), 422, '1401', /size/);
      expectError(await other.api.get('/v1/suppression/list?page=0'), 422, '1401', /page/);
    });

    it('looks an address up: its entry, or suppressed false', async () => {
      const email = address('lookup');
      const created = (await api.post('/v1/suppressions', { email, type: 'spam_complaint' })).body;
      expect(await lookup(api, email.toUpperCase())).toEqual({ email, suppressed: true, suppression: created });
      const clean = address('clean');
      expect(await lookup(api, clean)).toEqual({ email: clean, suppressed: false, suppression: null });
      expectError(await api.get('/v1/suppressions/lookup'), 422, '1400', /email/);
      expectError(await api.get('/v1/suppressions/lookup?email=nope'), 422, '1405');
    });

    it('deletes an entry by id; a second delete and an unknown id are 404', async () => {
      const email = address('delete');
      const { id } = (await api.post('/v1/suppressions', { email })).body;
      const res = await api.delete(`/v1/suppressions/${id}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ message: 'Suppression deleted', id });
      expect((await lookup(api, email)).suppressed).toBe(false);
      expectError(await api.delete(`/v1/suppressions/${id}`), 404, '1600');
      expectError(await api.delete('/v1/suppressions/ffffffffffffffffffffffff'), 404, '1600');
      // "lookup" is not an id either.
      expectError(await api.delete('/v1/suppressions/lookup'), 404, '1600');
    });

    it('needs the Suppressions permission on every route', async () => {
      const key = await server.newKey({ name: 'sender only', permissions: ['send_api'] });
      const limited = new (api.constructor as typeof ApiClient)(server.url, key);
      for (const res of [
        await limited.get('/v1/suppression/list'),
        await limited.get('/v1/suppressions/lookup?email=a@example.org'),
        await limited.post('/v1/suppressions', { email: 'a@example.org' }),
        await limited.delete('/v1/suppressions/ffffffffffffffffffffffff'),
      ])
        expectError(res, 403, '1301', /Suppressions/);
      expectError(await api.get('/v1/suppression/list', { auth: null }), 401, '1300');
    });

    it("keeps accounts apart: another account's id is 404, its entries are never listed or looked up", async () => {
      const email = address('mine');
      const mine = (await api.post('/v1/suppressions', { email, reason: 'owner only' })).body;
      const intruder = await server.newAccount();
      expectError(await intruder.api.delete(`/v1/suppressions/${mine.id}`), 404, '1600');
      expect((await intruder.api.get('/v1/suppression/list?size=1000')).body).toEqual({ count: 0, data: [] });
      expect((await intruder.api.get(`/v1/suppression/list?email=${email}`)).body.count).toBe(0);
      expect(await lookup(intruder.api, email)).toMatchObject({ suppressed: false, suppression: null });
      // The same address in the other account is an entry of its own.
      const theirs = await intruder.api.post('/v1/suppressions', { email, type: 'bounce' });
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(mine.id);
      expect(await lookup(api, email)).toEqual({ email, suppressed: true, suppression: mine });
      expect((await api.get('/v1/suppression/list?size=1000')).text).not.toContain(theirs.body.id);
    });

    it('documents the routes in /v1/openapi.json with their schemas', async () => {
      const doc = (await api.get('/v1/openapi.json', { auth: null })).body;
      const list = doc.paths['/v1/suppression/list'].get;
      const item = list.responses['200'].content['application/json'].schema.properties.data.items;
      expect(item.properties.createdAt.type).toBe('integer');
      expect(Object.keys(item.properties)).toEqual(expect.arrayContaining(['email', 'type', 'reason', 'createdAt']));
      expect(list.parameters.map((p: any) => p.name)).toEqual(
        expect.arrayContaining(['page', 'size', 'type', 'email']),
      );
      const create = doc.paths['/v1/suppressions'].post;
      expect(create.requestBody.content['application/json'].schema.required).toEqual(['email']);
      expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '201', '422']));
      expect(doc.paths['/v1/suppressions/{id}'].delete.responses['404']).toBeTruthy();
      expect(doc.paths['/v1/suppressions/lookup'].get.responses['200']).toBeTruthy();
    });
  });

  describe('the policy, through the relay sink', () => {
    it('a 550 at RCPT suppresses the address (bounce); the next mail to it is suppressed, class 50', async () => {
      const to = address('hard');
      sink.rules.push({ recipient: new RegExp(`^${to}$`), code: 550, message: '5.1.1 <x>: User unknown' });
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'bounced', bounceClass: 10 });
      const { suppression } = await lookup(api, to);
      expect(suppression).toMatchObject({ email: to, type: 'bounce', blocksTransactional: true });
      expect(suppression.reason).toContain('User unknown');
      const listed = await api.get(`/v1/suppression/list?email=${to}`);
      expect(listed.body).toMatchObject({ count: 1, data: [{ email: to, type: 'bounce' }] });

      const attempts = sink.attempts;
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'suppressed', bounceClass: 50 });
      expect(sink.attempts).toBe(attempts);
      expect(receivedBy(to)).toHaveLength(0);
    });

    it('five soft bounces in a row (452 at RCPT) suppress the address; four do not', async () => {
      const to = address('soft');
      sink.rules.push({ recipient: new RegExp(`^${to}$`), code: 452, message: '4.2.2 Mailbox full' });
      for (let i = 1; i <= 4; i++) {
        expect(await sendAndSettle(api, to)).toMatchObject({ status: 'bounced', bounceClass: 22 });
        expect((await lookup(api, to)).suppressed, `after ${i} soft bounces`).toBe(false);
      }
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'bounced', bounceClass: 22 });
      const { suppression } = await lookup(api, to);
      expect(suppression).toMatchObject({ type: 'bounce' });
      expect(suppression.reason).toMatch(/^5 soft bounces in a row; the last: 452 4\.2\.2 Mailbox full/);
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'suppressed', bounceClass: 50 });
    });

    it('a delivery between soft bounces starts the count again', async () => {
      const to = address('reset');
      sink.rules.push({ recipient: new RegExp(`^${to}$`), code: 451, message: '4.3.0 Try again later', times: 4 });
      for (let i = 0; i < 4; i++) expect((await sendAndSettle(api, to)).status).toBe('bounced');
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'delivered' });
      sink.rules.push({ recipient: new RegExp(`^${to}$`), code: 451, message: '4.3.0 Try again later', times: 4 });
      for (let i = 0; i < 4; i++) expect((await sendAndSettle(api, to)).bounceClass).toBe(20);
      // Eight soft bounces, never five in a row.
      expect((await lookup(api, to)).suppressed).toBe(false);
      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'delivered' });
      expect(receivedBy(to)).toHaveLength(2);
    });

    it('an unsubscribe holds back marketing mail (test sends, non-transactional), not transactional mail', async () => {
      const channel = await newChannel('News');
      const to = address('leaver');
      const id = await newSubscriber(to, [channel]);
      await unsubscribeByLink(id, null);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 2 });
      expect((await lookup(api, to)).suppression).toMatchObject({ type: 'unsubscribe', blocksTransactional: false });

      expect(await sendAndSettle(api, to)).toMatchObject({ status: 'delivered' });
      expect(
        await sendAndSettle(api, to, { optionsAttributes: { transactional: false }, subject: 'Our offers' }),
      ).toMatchObject({ status: 'suppressed', bounceClass: 50 });

      // A mailing's test send is marketing mail too: held back when the worker claims it.
      const mailing = await newMailing('Offers', channel);
      const test = await api.post(`/api/v1/mailings/${mailing}/test`, { emails: [to] });
      expect(test.status, test.text).toBeLessThan(300);
      const [held] = await waitFor(
        async () => {
          const rows = (await api.get(`/v1/messages?transmissionId=${test.body.data.transmissionId}`)).body.data;
          return rows.length && FINAL.has(rows[0].status) ? rows : null;
        },
        10_000,
        'the test send',
      );
      expect(held).toMatchObject({ status: 'suppressed', bounceClass: 50 });
      expect(receivedBy(to).map((m) => m.parsed.subject)).toEqual(['Hello']);
    });

    it('an unsubscribe entry keeps a subscriber out of a mailing; leaving one channel suppresses nothing', async () => {
      const channel = await newChannel('Digest');
      const second = await newChannel('Extra');
      // An entry made before the subscriber exists: the subscriber is ready, the entry still holds.
      const listed = address('listed');
      expect((await api.post('/v1/suppressions', { email: listed, type: 'unsubscribe' })).status).toBe(201);
      await newSubscriber(listed, [channel]);
      const reader = address('reader');
      const readerId = await newSubscriber(reader, [channel, second]);
      await unsubscribeByLink(readerId, second);
      expect(await subscriber(readerId)).toMatchObject({ status: 1, channels: [channel] });
      expect((await lookup(api, reader)).suppressed).toBe(false);

      const mailing = await newMailing('Digest', channel);
      expect((await api.post(`/api/v1/mailings/${mailing}/send`)).status).toBe(200);
      await waitFor(
        async () => (await api.get(`/api/v1/mailings/${mailing}`)).body.data.status === 'sent',
        20_000,
        'the mailing to be sent',
      );
      expect(receivedBy(reader)).toHaveLength(1);
      expect(receivedBy(listed)).toHaveLength(0);
    });
  });

  describe('the policy, through the event path (as the inbound receiver records reports)', () => {
    it('a complaint archives the subscriber (3/4), suppresses the address and reaches the webhooks', async () => {
      const email = address('complainer');
      const hook = await api.post('/api/v1/webhooks', {
        url: receiver.url,
        events: ['message.complained', 'message.bounced', 'subscriber.updated', 'subscriber.unsubscribed'],
      });
      expect(hook.status, hook.text).toBe(201);
      const id = await newSubscriber(email);
      const delivered = await sendAndSettle(api, email);
      expect(delivered.status).toBe('delivered');

      await recordThroughEventPath([
        {
          type: 'spam_complaint',
          recipient: email,
          message_id: delivered.id,
          transmission_id: delivered.transmissionId,
          data: JSON.stringify({ feedbackType: 'abuse', reason: 'ARF report from a mailbox provider' }),
        },
      ]);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 4 });
      expect((await lookup(api, email)).suppression).toMatchObject({
        type: 'spam_complaint',
        reason: 'ARF report from a mailbox provider',
      });
      const events = await waitFor(
        async () => {
          const all = receiver.deliveries.flatMap((d) => d.json.events).filter((e) => e.data.email === email);
          return all.length >= 2 ? all : null;
        },
        8000,
        'the complaint and the subscriber change',
      );
      expect(events.map((e) => e.event)).toEqual(['message.complained', 'subscriber.updated']);
      expect(events[0].data).toMatchObject({ objectType: 'Message', messageId: delivered.id, feedbackType: 'abuse' });
      expect(events[1].data).toMatchObject({ objectType: 'Subscriber', id, status: 3, statusAddition: 4 });
      // The transactional side sees it too: the next mail is held back.
      expect(await sendAndSettle(api, email)).toMatchObject({ status: 'suppressed', bounceClass: 50 });
    });

    it('an out-of-band hard bounce archives the subscriber as 3/5; an auto-reply changes nothing', async () => {
      const email = address('gone');
      const id = await newSubscriber(email);
      await recordThroughEventPath([
        {
          type: 'bounce',
          recipient: email,
          data: JSON.stringify({ bounceClass: 60, reason: 'Out of office', outOfBand: true }),
        },
      ]);
      expect(await subscriber(id)).toMatchObject({ status: 1 });
      expect((await lookup(api, email)).suppressed).toBe(false);
      await recordThroughEventPath([
        {
          type: 'bounce',
          recipient: email.toUpperCase(),
          data: JSON.stringify({ bounceClass: 10, reason: '550 5.1.1 No such user', outOfBand: true }),
        },
      ]);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 5 });
      expect((await lookup(api, email)).suppression).toMatchObject({
        type: 'bounce',
        reason: '550 5.1.1 No such user',
      });
    });

    it('removing an entry leaves the subscriber archived; a marketing reactivation lifts the entry', async () => {
      const email = address('removed');
      const id = await newSubscriber(email);
      await recordThroughEventPath([{ type: 'spam_complaint', recipient: email }]);
      const { suppression } = await lookup(api, email);
      expect((await api.delete(`/v1/suppressions/${suppression.id}`)).status).toBe(200);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 4 });

      // Archived again by a manual entry? It stays archived with its first reason.
      const manual = await api.post('/v1/suppressions', { email });
      expect(manual.status).toBe(201);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 4 });
      // The account decides to write to the person again (the key has the reactivate permission).
      const back = await api.put(`/api/v1/subscribers/${id}`, { status: 1 });
      expect(back.status, back.text).toBe(200);
      expect((await lookup(api, email)).suppressed).toBe(false);
      expect((await sendAndSettle(api, email, { optionsAttributes: { transactional: false } })).status).toBe(
        'delivered',
      );
    });

    it('a manual entry archives a ready subscriber as 3/3; a wider type replaces an unsubscribe entry', async () => {
      const email = address('manual-sub');
      const id = await newSubscriber(email);
      expect((await api.post('/v1/suppressions', { email, type: 'unsubscribe' })).status).toBe(201);
      expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 2 });
      const widened = await api.post('/v1/suppressions', { email, type: 'manual', reason: 'Lawyer letter' });
      expect(widened.status).toBe(200);
      expect(widened.body).toMatchObject({ type: 'manual', reason: 'Lawyer letter', blocksTransactional: true });
      // A transactional mail to an address that hard-bounces widens the unsubscribe entry the same way.
      const other = address('dead-and-gone');
      expect((await api.post('/v1/suppressions', { email: other, type: 'unsubscribe' })).status).toBe(201);
      sink.rules.push({ recipient: new RegExp(`^${other}$`), code: 550, message: '5.1.1 User unknown' });
      expect((await sendAndSettle(api, other)).status).toBe('bounced');
      expect((await lookup(api, other)).suppression).toMatchObject({ type: 'bounce', blocksTransactional: true });

      const ready = address('ready');
      const readyId = await newSubscriber(ready);
      expect((await api.post('/v1/suppressions', { email: ready })).status).toBe(201);
      expect(await subscriber(readyId)).toMatchObject({ status: 3, statusAddition: 3 });
    });

    it('refuses to record such events without the policy (a caller that forgot it would skip them)', async () => {
      await expect(
        server.app.ctx.db.transaction().execute((trx) =>
          recordEvents(trx, [
            {
              account_id: server.accountId,
              type: 'bounce',
              message_id: null,
              transmission_id: null,
              mailing_id: null,
              recipient: address('forgotten'),
              data: JSON.stringify({ bounceClass: 10 }),
              created_at: Date.now(),
            },
          ]),
        ),
      ).rejects.toThrow(/opts\.policy/);
    });
  });
});

describe(`the policy switches (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      POSTHORN_SUPPRESS_HARD_BOUNCES: 'false',
      POSTHORN_SUPPRESS_COMPLAINTS: 'false',
      POSTHORN_SUPPRESS_UNSUBSCRIBES: 'false',
      POSTHORN_SOFT_BOUNCE_LIMIT: '2',
    });
  });
  afterAll(async () => server?.close());

  it('turned off, bounces, complaints and unsubscribes suppress nothing; the soft limit is the setting', async () => {
    const { ctx } = server.app;
    const event = (type: string, recipient: string, data: Record<string, unknown>) => ({
      account_id: server.accountId,
      type,
      message_id: null,
      transmission_id: null,
      mailing_id: null,
      recipient,
      data: JSON.stringify(data),
      created_at: Date.now(),
    });
    const record = (events: ReturnType<typeof event>[]) =>
      ctx.db.transaction().execute((trx) => recordEvents(trx, events, { policy: ctx.config.suppression }));
    await record([
      event('bounce', 'hard@example.org', { bounceClass: 10 }),
      event('spam_complaint', 'complainer@example.org', {}),
      event('unsubscribe', 'leaver@example.org', {}),
      event('bounce', 'soft@example.org', { bounceClass: 22 }),
    ]);
    expect((await server.api.get('/v1/suppression/list')).body).toEqual({ count: 0, data: [] });
    await record([event('bounce', 'soft@example.org', { bounceClass: 21, reason: 'dns' })]);
    expect((await server.api.get('/v1/suppression/list')).body).toMatchObject({
      count: 1,
      data: [{ email: 'soft@example.org', type: 'bounce', reason: '2 soft bounces in a row; the last: dns' }],
    });
  });
});
