// Trigger mailings end to end: mailings of type "trigger" with a key, activated with …/send, are
// listed by GET /triggerTypes and sent to one person by POST /triggerTypes/{key}/send, through the
// real worker and relay to an SMTP sink. Checks the language variant, personalization with the
// caller's data, the headers, the "Unknown recipients" permission, the refusals (blacklist,
// suppression, not ready, paused, draft, another account's key, bad bodies) and idempotency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, waitFor, type TestServer } from '../helpers/server.ts';
import { startRelayedServer } from '../helpers/relay-server.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';
import { bulkSubscribers, expectError, expectNotFound, expectValidation } from '../helpers/marketing-fixtures.ts';
import { addSuppression } from '../../src/store/suppressions.ts';

describe(`trigger mailings (${dialectName})`, () => {
  let server: TestServer;
  let sink: SmtpSink;
  let api: ApiClient;
  let channel: { id: number };
  let field: { id: number };
  let welcomeEn: { id: number };
  let welcomeDe: { id: number };

  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
    api = server.api;
    channel = await created('/api/v1/channels', {
      name: 'Shop',
      senderEmail: 'shop@example.com',
      senderName: 'The Shop',
    });
    field = await created('/api/v1/customerFields', { fieldType: 1, type: 1, translations: { en: { name: 'tier' } } });
    await bulkSubscribers(api, [
      {
        email: 'petra@example.org',
        firstname: 'Petra',
        lastname: 'Paul',
        languageIso: 'de',
        channels: [channel.id],
        customerFields: { [field.id]: 'gold' },
      },
      { email: 'otto@example.org', firstname: 'Otto', languageIso: 'fr', channels: [channel.id] },
      { email: 'pending@example.org', firstname: 'Pia', channels: [channel.id], status: 2 },
      { email: 'elsewhere@example.org', firstname: 'Eli', channels: [] },
      { email: 'banned@example.org', firstname: 'Ben', channels: [channel.id] },
    ]);
    expect((await api.post('/api/v1/blacklist', { pattern: 'banned@example.org' })).status).toBeLessThan(300);
    await addSuppression(
      server.app.ctx.db,
      server.accountId,
      'bounced@example.net',
      'bounce',
      'earlier hard bounce',
      Date.now(),
    );

    const html =
      '<html><body><p>{{ greeting }} {{ firstname }}, order {{ data.orderNo }} ({{ customerFields.tier }}).</p><a href="{{ unsubscribeUrl }}">unsubscribe</a></body></html>';
    welcomeEn = await created('/api/v1/mailings', {
      name: 'Welcome',
      type: 'trigger',
      triggerKey: 'welcome',
      languageIso: 'en',
      channelId: channel.id,
      subject: 'Welcome {{ firstname }}',
      html,
    });
    welcomeDe = await created('/api/v1/mailings', {
      name: 'Willkommen',
      type: 'trigger',
      triggerKey: 'welcome',
      languageIso: 'de',
      channelId: channel.id,
      subject: 'Willkommen {{ firstname }}',
      html,
    });
    for (const m of [welcomeEn, welcomeDe]) {
      const res = await api.post(`/api/v1/mailings/${m.id}/send`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.data).toMatchObject({ status: 'sending', triggerKey: 'welcome', recipientCount: 0 });
    }
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  async function created(path: string, body: unknown) {
    const res = await api.post(path, body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  }
  const send = (key: string, body: unknown, client = api, headers?: Record<string, string>) =>
    client.request('POST', `/api/v1/triggerTypes/${key}/send`, { body, headers });
  const recipients = async (mailingId: number) =>
    (await api.get(`/api/v1/mailings/${mailingId}/recipients?limit=100`)).body;
  /** The sink's messages to one address with this subject prefix. */
  const arrived = (to: string, subject: string) =>
    sink.messages.filter((m) => m.to.includes(to) && m.parsed.subject?.startsWith(subject));
  const header = (msg: (typeof sink.messages)[number], name: string) =>
    msg.parsed.headerLines.find((h) => h.key === name)?.line.replace(/\r?\n[ \t]+/g, ' ') ?? null;

  it('lists only active trigger types, with their languages', async () => {
    await created('/api/v1/mailings', {
      name: 'Not yet',
      type: 'trigger',
      triggerKey: 'draft-only',
      subject: 'x',
      html: '<p>x</p>',
      senderEmail: 'shop@example.com',
    });
    await created('/api/v1/mailings', {
      name: 'Newsletter',
      subject: 'x',
      html: '<p>x</p>',
      senderEmail: 'shop@example.com',
    });
    const res = await api.get('/api/v1/triggerTypes');
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toEqual([
      { objectType: 'TriggerType', key: 'welcome', name: 'Welcome', mailingId: welcomeEn.id, languages: ['de', 'en'] },
    ]);
    expect(res.body.meta.pagination).toMatchObject({ total: 1, currentPage: 1 });
    const stranger = await server.newAccount();
    expect((await stranger.api.get('/api/v1/triggerTypes')).body.data).toEqual([]);
  });

  it(
    'sends the subscriber one personalized message in their language, with the caller’s data',
    { timeout: 30_000 },
    async () => {
      const res = await send('welcome', { email: 'Petra@Example.org', data: { orderNo: 'A-17', greeting: 'Hallo' } });
      expect(res.status, res.text).toBe(201);
      expect(res.body.data).toEqual({
        objectType: 'TriggerMailingSend',
        key: 'welcome',
        mailingId: welcomeDe.id,
        messageId: expect.any(String),
      });
      const messageId = res.body.data.messageId as string;

      await waitFor(async () => arrived('petra@example.org', 'Willkommen').length === 1, 15_000, 'the trigger mail');
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
      const [msg] = arrived('petra@example.org', 'Willkommen');
      expect(arrived('petra@example.org', 'Willkommen')).toHaveLength(1);
      expect(msg!.parsed.subject).toBe('Willkommen Petra');
      expect(msg!.parsed.html).toContain('Hallo Petra, order A-17 (gold).');
      expect(msg!.messageId).toContain(messageId);
      expect(msg!.parsed.from?.value[0]).toMatchObject({ address: 'shop@example.com', name: 'The Shop' });
      expect(header(msg!, 'list-unsubscribe')).toMatch(/<http[^>]+\/p\/unsubscribe\/[A-Za-z0-9_-]+>/);
      expect(header(msg!, 'feedback-id')).toContain(`mailing-${welcomeDe.id}:`);
      expect(header(msg!, 'precedence')).toBeNull(); // one person's mail, not bulk

      // The language asked for wins over the subscriber's; a language the trigger lacks falls back.
      const en = await send('welcome', { email: 'petra@example.org', language: 'en', data: { orderNo: 'A-18' } });
      expect(en.status, en.text).toBe(201);
      expect(en.body.data.mailingId).toBe(welcomeEn.id);
      const fr = await send('welcome', { email: 'otto@example.org' });
      expect(fr.body.data.mailingId, fr.text).toBe(welcomeEn.id); // Otto reads French: the primary variant
      await waitFor(
        async () =>
          arrived('petra@example.org', 'Welcome Petra').length === 1 &&
          arrived('otto@example.org', 'Welcome Otto').length === 1,
        15_000,
        'the English mails',
      );

      // The same subscriber again: a trigger goes out every time it is triggered.
      const again = await send('welcome', { email: 'petra@example.org', data: { orderNo: 'A-19' } });
      expect(again.status, again.text).toBe(201);
      await waitFor(
        async () => arrived('petra@example.org', 'Willkommen').length === 2,
        15_000,
        'the second trigger mail',
      );

      // Counted in the mailing, which stays active.
      const list = await recipients(welcomeDe.id);
      expect(list.meta.pagination.total).toBe(2);
      expect(list.data.map((r: any) => r.messageId)).toContain(messageId);
      expect(list.data.every((r: any) => r.email === 'petra@example.org' && r.subscriberId !== null)).toBe(true);
      await waitFor(
        async () => (await recipients(welcomeDe.id)).data.every((r: any) => r.status === 'delivered'),
        10_000,
        'delivered',
      );
      await new Promise((r) => setTimeout(r, 300));
      expect((await api.get(`/api/v1/mailings/${welcomeDe.id}`)).body.data).toMatchObject({
        status: 'sending',
        recipientCount: 2,
      });
      const stats = await api.get(`/api/v1/mailings/${welcomeDe.id}/statistics`);
      expect(stats.status, stats.text).toBe(200);
      expect(stats.body.data).toMatchObject({ recipients: 2, delivered: 2 });
    },
  );

  it(
    'sends to an address that is no subscriber only with the "Unknown recipients" permission',
    { timeout: 30_000 },
    async () => {
      const limitedKey = await server.newKey({ name: 'no unknown', permissions: ['mailings'] });
      const limited = new ApiClient(server.url, limitedKey);
      const before = (await recipients(welcomeEn.id)).meta.pagination.total;
      const refused = await send('welcome', { email: 'guest@example.net', data: { orderNo: 'G-1' } }, limited);
      expectError(refused, 404, 1020, [], expect.stringContaining('Unknown recipients'));
      // A subscriber is fine for that key.
      expect((await send('welcome', { email: 'otto@example.org' }, limited)).status).toBe(201);

      const ok = await send('welcome', { email: 'guest@example.net', data: { orderNo: 'G-1', firstname: 'Guest' } });
      expect(ok.status, ok.text).toBe(201);
      expect(ok.body.data.mailingId).toBe(welcomeEn.id);
      await waitFor(async () => arrived('guest@example.net', 'Welcome').length === 1, 15_000, 'the mail to the guest');
      const [msg] = arrived('guest@example.net', 'Welcome');
      expect(msg!.parsed.subject).toBe('Welcome Guest');
      expect(msg!.parsed.html).toContain('Guest, order G-1 ().');
      expect(header(msg!, 'list-unsubscribe')).toBeNull();
      const list = await recipients(welcomeEn.id);
      expect(list.meta.pagination.total).toBe(before + 2);
      expect(list.data.find((r: any) => r.email === 'guest@example.net')).toMatchObject({
        subscriberId: null,
        messageId: ok.body.data.messageId,
      });
    },
  );

  it('refuses blacklisted, suppressed, not-ready and off-channel recipients and queues nothing', async () => {
    const before =
      (await recipients(welcomeEn.id)).meta.pagination.total + (await recipients(welcomeDe.id)).meta.pagination.total;
    expectValidation(await send('welcome', { email: 'banned@example.org' }), {
      email: [expect.stringContaining('blacklist')],
    });
    expectValidation(await send('welcome', { email: 'bounced@example.net' }), {
      email: [expect.stringContaining('suppression')],
    });
    expectValidation(await send('welcome', { email: 'pending@example.org' }), {
      email: [expect.stringContaining('not ready')],
    });
    expectValidation(await send('welcome', { email: 'elsewhere@example.org' }), {
      email: [expect.stringContaining('channel')],
    });
    const after =
      (await recipients(welcomeEn.id)).meta.pagination.total + (await recipients(welcomeDe.id)).meta.pagination.total;
    expect(after).toBe(before);
  });

  it('checks the body, the key and the trigger’s state', async () => {
    expectValidation(await send('welcome', {}), { email: [expect.any(String)] });
    expectValidation(await send('welcome', { email: 'not-an-address' }), { email: [expect.any(String)] });
    expectValidation(await send('welcome', { email: 'petra@example.org', language: 'deutsch' }), {
      language: [expect.any(String)],
    });
    expectValidation(await send('welcome', { email: 'petra@example.org', data: ['x'] }), {
      data: [expect.any(String)],
    });
    expectNotFound(await send('nope', { email: 'petra@example.org' }), 'Trigger type not found');
    expectNotFound(await send('NOT%20A%20KEY', { email: 'petra@example.org' }), 'Trigger type not found');
    expectError(
      await send('draft-only', { email: 'petra@example.org' }),
      409,
      1024,
      [],
      expect.stringContaining('not active'),
    );

    // Another account: neither sees nor sends this account's trigger.
    const stranger = await server.newAccount();
    expectNotFound(await send('welcome', { email: 'petra@example.org' }, stranger.api), 'Trigger type not found');

    // Keys belong to trigger mailings; a live key+language is held once; triggers are not scheduled.
    expectValidation(await api.post('/api/v1/mailings', { name: 'x', triggerKey: 'welcome' }), {
      triggerKey: [expect.stringContaining('trigger')],
    });
    expectValidation(await api.post('/api/v1/mailings', { name: 'x', type: 'trigger', triggerKey: 'Bad Key!' }), {
      triggerKey: [expect.any(String)],
    });
    const twin = await created('/api/v1/mailings', {
      name: 'Twin',
      type: 'trigger',
      triggerKey: 'welcome',
      languageIso: 'en',
      subject: 'x',
      html: '<p>x</p>',
      senderEmail: 'shop@example.com',
    });
    expectError(await api.post(`/api/v1/mailings/${twin.id}/send`), 409, 1024, [], expect.stringContaining('welcome'));
    expectValidation(await api.post(`/api/v1/mailings/${twin.id}/schedule`, { scheduledAt: '2099-01-01 10:00:00' }), {
      scheduledAt: [expect.stringContaining('trigger')],
    });
    const noKey = await created('/api/v1/mailings', {
      name: 'Keyless',
      type: 'trigger',
      subject: 'x',
      html: '<p>x</p>',
      senderEmail: 'shop@example.com',
    });
    expectValidation(await api.post(`/api/v1/mailings/${noKey.id}/send`), { triggerKey: [expect.any(String)] });

    // Paused: refused until resumed.
    expect((await api.post(`/api/v1/mailings/${welcomeEn.id}/pause`)).status).toBe(200);
    expect((await api.post(`/api/v1/mailings/${welcomeDe.id}/pause`)).status).toBe(200);
    expectError(
      await send('welcome', { email: 'petra@example.org' }),
      409,
      1024,
      [],
      expect.stringContaining('paused'),
    );
    expect((await api.get('/api/v1/triggerTypes')).body.data).toEqual([]);
    expect((await api.post(`/api/v1/mailings/${welcomeEn.id}/resume`)).status).toBe(200);
    expect((await api.post(`/api/v1/mailings/${welcomeDe.id}/resume`)).status).toBe(200);
    expect((await api.get('/api/v1/triggerTypes')).body.data.map((t: any) => t.key)).toEqual(['welcome']);
  });

  it('activates one of several mailings sent at once with the same key, and refuses the others with 409', async () => {
    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`;
      const twins = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          created('/api/v1/mailings', {
            name: `Race ${round}.${i}`,
            type: 'trigger',
            triggerKey: key,
            subject: 'x',
            html: '<p>x</p>',
            senderEmail: 'shop@example.com',
          }),
        ),
      );
      const answers = await Promise.all(twins.map((t) => api.post(`/api/v1/mailings/${t.id}/send`)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409]);
      for (const a of answers.filter((x) => x.status === 409))
        expect(a.body.errors?.[0]?.message ?? JSON.stringify(a.body)).toContain(key);
    }
  });

  it('sends once per Idempotency-Key', { timeout: 30_000 }, async () => {
    const headers = { 'idempotency-key': 'order-77' };
    const body = { email: 'otto@example.org', data: { orderNo: 'I-77' } };
    const first = await send('welcome', body, api, headers);
    expect(first.status, first.text).toBe(201);
    const second = await send('welcome', body, api, headers);
    expect(second.status, second.text).toBe(201);
    expect(second.body.data.messageId).toBe(first.body.data.messageId);
    expectError(
      await send('welcome', { ...body, data: { orderNo: 'other' } }, api, headers),
      409,
      1024,
      [],
      expect.stringContaining('Idempotency-Key'),
    );
    await waitFor(
      async () => sink.messages.some((m) => m.messageId.includes(first.body.data.messageId)),
      15_000,
      'the idempotent mail',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.messages.filter((m) => m.parsed.html && String(m.parsed.html).includes('order I-77'))).toHaveLength(1);
  });
});
