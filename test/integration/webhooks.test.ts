// Webhooks of both surfaces against a real local receiver: signed {batchId, retryCount, events}
// batches within the size (≤ 100) and time (≈ 1 s) bounds, retries with the same batchId, the
// delivery log, private targets refused, and account isolation.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { addSuppression } from '../../src/store/suppressions.ts';
import { loadConfig } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { DATE_TIME, expectNotFound, expectValidation } from '../helpers/marketing-fixtures.ts';
import { confirmByPage } from '../helpers/public-pages.ts';

/** Checks Posthorn-Signature with node:crypto alone: hex HMAC-SHA256 of "<t>.<body>". */
function signatureValid(d: ReceivedDelivery, secret: string): boolean {
  const header = String(d.headers['posthorn-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${d.body}`).digest();
  return Math.abs(Date.now() / 1000 - Number(m[1])) < 60 && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

const send = (api: ApiClient, to: string[], metadata: Record<string, string> = {}) =>
  api.post('/v1/layang/transmissions', {
    from: { email: 'shop@example.com' },
    to: to.map((email) => ({ email })),
    subject: 'Hi',
    bodyText: 'Hello',
    metadata,
  });

describe(`webhooks (${dialectName})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    server = await startTestServer({
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
      POSTHORN_WEBHOOK_RETRY_BASE_MS: '300',
      POSTHORN_WEBHOOK_POLL_MS: '50',
    });
  });
  afterAll(async () => server?.close());

  // Each test has its own receiver and account, so deliveries never mix.
  const fresh = async () => {
    receiver = await startWebhookReceiver();
    return server.newAccount();
  };
  const done = async () => receiver.close();

  it('lists the transactional webhook events and refuses unknown ones', async () => {
    const { api } = await fresh();
    const events = await api.get('/v1/webhook-events');
    expect(events.status).toBe(200);
    expect(events.body.map((e: any) => e.slug)).toEqual([
      'injection',
      'delivery',
      'delay',
      'bounce',
      'open',
      'click',
      'unsubscribe',
      'spam_complaint',
      'policy_rejection',
    ]);
    expect(events.body[0]).toEqual({ id: 1, name: 'Injection', slug: 'injection', detail: expect.any(String) });
    const bad = await api.post('/v1/webhooks', { target: receiver.url, events: ['delivery', 'subscriber.created'] });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0]).toMatchObject({
      code: '1401',
      description: expect.stringContaining('unknown events: subscriber.created'),
    });
    expect((await api.post('/v1/webhooks', { events: ['delivery'] })).status).toBe(422);
    expect((await api.post('/v1/webhooks', { target: 'ftp://example.com/x' })).status).toBe(422);
    await done();
  });

  it('delivers a signed batch with Basic auth within about a second, and logs it', async () => {
    const { api } = await fresh();
    const created = await api.post('/v1/webhooks', {
      name: 'Orders',
      target: receiver.url,
      events: ['injection', 'delivery'],
      basicAuth: { username: 'hook', password: 'p@ss:word' },
    });
    expect(created.status, created.text).toBe(201);
    const webhook = created.body;
    expect(webhook).toEqual({
      id: expect.any(String),
      name: 'Orders',
      target: receiver.url,
      events: ['injection', 'delivery'],
      basicAuth: { username: 'hook' },
      secret: expect.stringMatching(/^whsec_[0-9a-f]{48}$/),
      active: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await api.get(`/v1/webhooks/${webhook.id}`)).body).toEqual(webhook);
    expect((await api.get('/v1/webhooks')).body).toEqual({ count: 1, data: [webhook] });

    const accepted = Date.now();
    const sent = await send(api, ['ann@example.org'], { order: '42' });
    expect(sent.status).toBe(200);
    const first = await waitFor(async () => receiver.deliveries[0], 5000, 'the first delivery');
    // The time bound: one lone event goes out about 1 s after it was written, not later.
    expect(first.at - accepted).toBeLessThan(2500);
    expect(signatureValid(first, webhook.secret)).toBe(true);
    expect(signatureValid(first, 'whsec_wrong')).toBe(false);
    expect(first.headers.authorization).toBe('Basic ' + Buffer.from('hook:p@ss:word').toString('base64'));
    expect(first.headers['content-type']).toBe('application/json');

    const events = await waitFor(
      async () => {
        const all = receiver.deliveries.flatMap((d) => d.json.events);
        return all.length >= 2 ? all : null;
      },
      5000,
      'injection and delivery',
    );
    expect(events.map((e) => e.type).sort()).toEqual(['delivery', 'injection']);
    for (const e of events) {
      expect(e).toMatchObject({
        messageId: expect.any(String),
        transmissionId: sent.body.transmissionId,
        recipient: 'ann@example.org',
        timestamp: expect.any(Number),
        metadata: { order: '42' },
      });
    }
    expect(first.json).toMatchObject({ batchId: expect.any(String), retryCount: 0 });

    const log = await waitFor(
      async () => {
        const r = await api.get(`/v1/webhooks/${webhook.id}/deliveries`);
        return r.body.count >= receiver.deliveries.length ? r : null;
      },
      3000,
      'the delivery log',
    );
    expect(log.body.data.at(-1)).toEqual({
      id: expect.any(String),
      batchId: first.json.batchId,
      retryCount: 0,
      eventCount: first.json.events.length,
      statusCode: 200,
      latencyMs: expect.any(Number),
      error: null,
      ok: true,
      attemptedAt: expect.any(String),
    });
    await done();
  });

  it('cuts 250 events into batches of at most 100 and loses none', async () => {
    const { api } = await fresh();
    const webhook = (await api.post('/v1/webhooks', { target: receiver.url, events: ['injection'] })).body;
    const recipients = Array.from({ length: 250 }, (_, i) => `r${i}@example.org`);
    expect((await send(api, recipients)).status).toBe(200);
    const events = await waitFor(
      async () => {
        const all = receiver.deliveries.flatMap((d) => d.json.events);
        return all.length >= 250 ? all : null;
      },
      10_000,
      '250 events',
    );
    await new Promise((r) => setTimeout(r, 1500)); // nothing more (no duplicates) arrives later
    const all = receiver.deliveries.flatMap((d) => d.json.events);
    expect(all).toHaveLength(250);
    expect(new Set(all.map((e) => e.recipient))).toEqual(new Set(recipients));
    expect(events.every((e) => e.type === 'injection')).toBe(true);
    expect(receiver.deliveries.length).toBeGreaterThanOrEqual(3);
    for (const d of receiver.deliveries) {
      expect(d.json.events.length).toBeLessThanOrEqual(100);
      expect(signatureValid(d, webhook.secret)).toBe(true);
    }
    expect(new Set(receiver.deliveries.map((d) => d.json.batchId)).size).toBe(receiver.deliveries.length);
    await done();
  });

  it('retries a refused batch with the same batchId and a growing retryCount until it is taken', async () => {
    const { api } = await fresh();
    receiver.respondWith(500, 500);
    const webhook = (await api.post('/v1/webhooks', { target: receiver.url, events: ['injection'] })).body;
    expect((await send(api, ['retry@example.org'])).status).toBe(200);
    await waitFor(async () => receiver.deliveries.length >= 3, 10_000, 'three attempts');
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.deliveries).toHaveLength(3);
    const [a, b, c] = receiver.deliveries;
    expect(new Set([a!.json.batchId, b!.json.batchId, c!.json.batchId]).size).toBe(1);
    expect(receiver.deliveries.map((d) => d.json.retryCount)).toEqual([0, 1, 2]);
    expect(a!.json.events).toEqual(c!.json.events);
    for (const d of receiver.deliveries) expect(signatureValid(d, webhook.secret)).toBe(true);
    // Backoff: the second retry waits longer than the first (base 300 ms, doubling, ±20 %).
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(200);
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(400);

    const log = await waitFor(
      async () => {
        const r = await api.get(`/v1/webhooks/${webhook.id}/deliveries`);
        return r.body.count === 3 ? r.body.data : null;
      },
      3000,
      'three logged attempts',
    );
    expect(log.map((x: any) => [x.retryCount, x.statusCode, x.ok])).toEqual([
      [2, 200, true],
      [1, 500, false],
      [0, 500, false],
    ]);
    expect(log[1].error).toBe('HTTP 500');
    await done();
  });

  it('sends a signed sample on /test and reports the answer', async () => {
    const { api } = await fresh();
    const webhook = (await api.post('/v1/webhooks', { target: receiver.url, secret: 'my-own-secret-1234567' })).body;
    expect(webhook.secret).toBe('my-own-secret-1234567');
    receiver.respondWith(503);
    const res = await api.post(`/v1/webhooks/${webhook.id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      batchId: expect.stringMatching(/^test_/),
      ok: false,
      statusCode: 503,
      latencyMs: expect.any(Number),
      error: 'HTTP 503',
    });
    expect(receiver.deliveries).toHaveLength(1);
    expect(signatureValid(receiver.deliveries[0]!, 'my-own-secret-1234567')).toBe(true);
    expect(receiver.deliveries[0]!.json.events[0]).toMatchObject({
      type: 'delivery',
      recipient: 'recipient@example.com',
    });
    expect((await api.post(`/v1/webhooks/${webhook.id}/test`)).body.ok).toBe(true);
    await done();
  });

  it('an inactive webhook collects nothing; switched on again it reports from then on', async () => {
    const { api } = await fresh();
    const webhook = (await api.post('/v1/webhooks', { target: receiver.url, events: ['injection'], active: false }))
      .body;
    expect(webhook.active).toBe(false);
    expect((await send(api, ['while-off@example.org'])).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.put(`/v1/webhooks/${webhook.id}`, { active: true })).body.active).toBe(true);
    expect((await send(api, ['after-on@example.org'])).status).toBe(200);
    await waitFor(async () => receiver.deliveries.length > 0, 5000, 'a delivery');
    await new Promise((r) => setTimeout(r, 1200));
    expect(receiver.deliveries.flatMap((d) => d.json.events).map((e) => e.recipient)).toEqual(['after-on@example.org']);
    await done();
  });

  it('changes and deletes webhooks; another account sees none of them', async () => {
    const { api } = await fresh();
    const other = await server.newAccount();
    const webhook = (
      await api.post('/v1/webhooks', { target: receiver.url, basicAuth: { username: 'u', password: 'p' } })
    ).body;
    const changed = await api.put(`/v1/webhooks/${webhook.id}`, {
      name: 'Renamed',
      events: ['bounce'],
      basicAuth: null,
      active: false,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id: webhook.id,
      name: 'Renamed',
      target: receiver.url,
      events: ['bounce'],
      basicAuth: null,
      active: false,
      secret: webhook.secret,
    });
    for (const [method, path] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/test'],
      ['GET', '/deliveries'],
    ] as const) {
      const res = await other.api.request(
        method,
        `/v1/webhooks/${webhook.id}${path}`,
        method === 'PUT' ? { body: { name: 'x' } } : {},
      );
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.errors[0].code).toBeDefined();
    }
    expect((await other.api.get('/v1/webhooks')).body).toEqual({ count: 0, data: [] });
    // The marketing surface does not see the transactional webhook either.
    expect((await api.get(`/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await api.delete(`/v1/webhooks/${webhook.id}`)).body).toEqual({
      message: 'Webhook deleted',
      id: webhook.id,
    });
    expect((await api.get(`/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await api.get('/v1/webhooks/abc')).status).toBe(404);
    await done();
  });

  it('marketing: reports subscriber changes in order, bulk ones too, in the marketing dialect', async () => {
    const { api } = await fresh();
    const created = await api.post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['subscriber.created', 'subscriber.updated', 'subscriber.unsubscribed'],
    });
    expect(created.status, created.text).toBe(201);
    const webhook = created.body.data;
    expect(webhook).toEqual({
      objectType: 'Webhook',
      id: expect.any(Number),
      name: '127.0.0.1:' + new URL(receiver.url).port,
      url: receiver.url,
      events: ['subscriber.created', 'subscriber.updated', 'subscriber.unsubscribed'],
      basicAuth: null,
      secret: expect.any(String),
      active: true,
      createdAt: expect.stringMatching(DATE_TIME),
      updatedAt: expect.stringMatching(DATE_TIME),
    });
    const list = await api.get('/api/v1/webhooks');
    expect(list.body.data).toEqual([webhook]);
    expect(list.body.meta.pagination).toMatchObject({ total: 1, count: 1, perPage: 10, currentPage: 1 });

    const sub = await api.post('/api/v1/subscribers', { email: 'Sub@Example.org', firstname: 'Sue' });
    expect(sub.status, sub.text).toBe(201);
    const id = sub.body.data.id;
    expect((await api.put(`/api/v1/subscribers/${id}`, { lastname: 'Smith' })).status).toBe(200);
    expect((await api.post(`/api/v1/subscribers/${id}/unsubscribe`, {})).status).toBe(200);
    const bulk = await api.post('/api/v1/subscribers/bulk', [
      { email: 'b1@example.org' },
      { email: 'b2@example.org' },
      { email: 'sub@example.org', firstname: 'S' },
    ]);
    expect(bulk.status, bulk.text).toBeLessThan(300);

    const events = await waitFor(
      async () => {
        const all = receiver.deliveries.flatMap((d) => d.json.events);
        return all.length >= 6 ? all : null;
      },
      8000,
      'six subscriber events',
    );
    expect(events.map((e) => [e.event, e.data.email])).toEqual([
      ['subscriber.created', 'sub@example.org'],
      ['subscriber.updated', 'sub@example.org'],
      ['subscriber.unsubscribed', 'sub@example.org'],
      ['subscriber.created', 'b1@example.org'],
      ['subscriber.created', 'b2@example.org'],
      ['subscriber.updated', 'sub@example.org'],
    ]);
    expect(events[0]).toEqual({
      id: expect.any(Number),
      event: 'subscriber.created',
      createdAt: expect.stringMatching(DATE_TIME),
      data: { objectType: 'Subscriber', id, email: 'sub@example.org', status: 1, statusAddition: null },
    });
    expect(events[2].data).toMatchObject({ id, status: 3, statusAddition: 2, channelId: null });
    for (const d of receiver.deliveries) expect(signatureValid(d, webhook.secret)).toBe(true);

    // The attempt is logged once the receiver has answered: wait for it.
    const log = await waitFor(
      async () => {
        const r = await api.get(`/api/v1/webhooks/${webhook.id}/deliveries`);
        return r.status === 200 && r.body.data.length >= receiver.deliveries.length ? r : null;
      },
      3000,
      'the delivery log',
    );
    expect(log.body.data[0]).toMatchObject({
      objectType: 'WebhookDelivery',
      statusCode: 200,
      ok: true,
      attemptedAt: expect.stringMatching(DATE_TIME),
    });

    const other = await server.newAccount();
    expectNotFound(await other.api.get(`/api/v1/webhooks/${webhook.id}`), 'Webhook not found');
    expectNotFound(await other.api.put(`/api/v1/webhooks/${webhook.id}`, { name: 'x' }), 'Webhook not found');
    expectNotFound(await other.api.delete(`/api/v1/webhooks/${webhook.id}`), 'Webhook not found');
    expectNotFound(await other.api.get(`/api/v1/webhooks/${webhook.id}/deliveries`), 'Webhook not found');
    expectValidation(await api.post('/api/v1/webhooks', { url: receiver.url, events: ['delivery'] }), {
      events: [
        'The events has unknown events: delivery; known: subscriber.created, subscriber.updated, ' +
          'subscriber.unsubscribed, subscriber.optInConfirmed, mailing.sent, message.bounced, message.complained.',
      ],
    });
    expect((await api.delete(`/api/v1/webhooks/${webhook.id}`)).status).toBe(204);
    await done();
  });

  it('marketing: message.bounced carries the bounce of a message (a suppressed recipient, class 50)', async () => {
    const { api, accountId } = await fresh();
    const marketing = (
      await api.post('/api/v1/webhooks', { url: receiver.url, events: ['message.bounced', 'message.complained'] })
    ).body.data;
    // Setup straight in the store (the suppression API is not part of this test): the accept then
    // records the recipient as suppressed, class 50, with a bounce event.
    await addSuppression(server.app.ctx.db, accountId, 'gone@example.org', 'bounce', 'test', Date.now());
    const sent = await send(api, ['gone@example.org']);
    expect(sent.status).toBe(200);
    const events = await waitFor(
      async () => receiver.deliveries.flatMap((d) => d.json.events).at(0),
      8000,
      'message.bounced',
    );
    expect(events).toEqual({
      id: expect.any(Number),
      event: 'message.bounced',
      createdAt: expect.stringMatching(DATE_TIME),
      data: {
        objectType: 'Message',
        messageId: expect.any(String),
        mailingId: null,
        email: 'gone@example.org',
        bounceClass: 50,
        reason: expect.stringContaining('suppression list'),
      },
    });
    expect(signatureValid(receiver.deliveries[0]!, marketing.secret)).toBe(true);
    await done();
  });

  it('marketing: reports the opt-in confirmation and the one-click unsubscribe of the public pages', async () => {
    const { api } = await fresh();
    const webhook = (
      await api.post('/api/v1/webhooks', {
        url: receiver.url,
        events: ['subscriber.optInConfirmed', 'subscriber.unsubscribed'],
      })
    ).body.data;
    const channel = await api.post('/api/v1/channels', { name: 'News', senderEmail: 'news@example.com' });
    expect(channel.status, channel.text).toBe(201);
    const channelId = channel.body.data.id;
    const sub = await api.post('/api/v1/subscribers', {
      email: 'optin@example.org',
      channels: [channelId],
      sendOptIn: true,
    });
    expect(sub.status, sub.text).toBe(201);

    const message = await waitFor(
      async () => {
        const r = await api.get('/v1/messages?size=10');
        return (r.body.data as any[]).find((m) => m.recipient === 'optin@example.org' && m.status === 'captured');
      },
      8000,
      'the captured opt-in mail',
    );
    const mail = await simpleParser((await api.get(`/v1/messages/${message.id}/raw`)).text);
    const confirm = /\/p\/confirm\/[A-Za-z0-9_-]+/.exec(mail.text ?? '')![0];
    expect((await confirmByPage(server.url, confirm)).status).toBe(200);
    const unsubscribe = /\/p\/unsubscribe\/[A-Za-z0-9_-]+/.exec(
      String(mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line),
    )![0];
    const oneClick = await fetch(server.url + unsubscribe, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);

    const events = await waitFor(
      async () => {
        const all = receiver.deliveries.flatMap((d) => d.json.events);
        return all.length >= 2 ? all : null;
      },
      8000,
      'confirmation and unsubscribe',
    );
    expect(events.map((e) => e.event)).toEqual(['subscriber.optInConfirmed', 'subscriber.unsubscribed']);
    expect(events[0].data).toEqual({
      objectType: 'Subscriber',
      id: sub.body.data.id,
      email: 'optin@example.org',
      status: 1,
      statusAddition: null,
      channelId,
    });
    expect(events[1].data).toMatchObject({ id: sub.body.data.id, status: 3, statusAddition: 2 });
    for (const d of receiver.deliveries) expect(signatureValid(d, webhook.secret)).toBe(true);
    await done();
  });
});

describe.runIf(dialectName === 'postgres')(`webhooks on two nodes (${dialectName})`, () => {
  let server: TestServer;
  let second: Posthorn;
  let receiver: WebhookReceiver;
  const env = { POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true', POSTHORN_WEBHOOK_POLL_MS: '20' };
  beforeAll(async () => {
    server = await startTestServer(env);
    // A second process on the same database: its dispatcher competes for the same webhooks.
    second = await startPosthorn(
      loadConfig({
        DATABASE_URL: server.db.url,
        POSTHORN_DATA_DIR: server.db.dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        POSTHORN_ROLE: 'worker',
        LOG_LEVEL: 'silent',
        ...env,
      }),
    );
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await second?.close();
    await server?.close();
  });

  it('delivers every event of concurrent accepts exactly once', async () => {
    await server.api.post('/v1/webhooks', { target: receiver.url, events: ['injection'] });
    const recipients = Array.from({ length: 300 }, (_, i) => `c${i}@example.org`);
    const chunks = Array.from({ length: 30 }, (_, i) => recipients.slice(i * 10, i * 10 + 10));
    const results = await Promise.all(chunks.map((to) => send(server.api, to)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    await waitFor(async () => receiver.deliveries.flatMap((d) => d.json.events).length >= 300, 15_000, '300 events');
    await new Promise((r) => setTimeout(r, 1500));
    const all = receiver.deliveries.flatMap((d) => d.json.events);
    expect(all).toHaveLength(300);
    expect(new Set(all.map((e) => e.recipient))).toEqual(new Set(recipients));
    expect(new Set(receiver.deliveries.map((d) => d.json.batchId)).size).toBe(receiver.deliveries.length);
  });
});

describe(`webhook targets (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('refuses private, loopback and link-local targets unless the operator allows them', async () => {
    for (const target of [
      'http://127.0.0.1:8080/hook',
      'http://10.1.2.3/x',
      'http://[::1]/x',
      'http://169.254.169.254/latest',
      'http://localhost/x',
    ]) {
      const res = await server.api.post('/v1/webhooks', { target });
      expect(res.status, target).toBe(422);
      expect(res.body.errors[0]).toMatchObject({
        code: '1401',
        description: expect.stringContaining('private, loopback or link-local'),
      });
    }
    const marketing = await server.api.post('/api/v1/webhooks', { url: 'http://192.168.0.10/hook' });
    expectValidation(marketing, {
      url: [expect.stringContaining('resolves to 192.168.0.10, a private') as unknown as string],
    });
    expect((await server.api.get('/v1/webhooks')).body).toEqual({ count: 0, data: [] });
  });
});
