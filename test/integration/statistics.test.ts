// Statistics from counters: what the SMTP sink received, opened and clicked over HTTP, and
// unsubscribed through the public page shows up, exactly, in the transactional summary and its
// breakdowns and in the marketing statistics. Bad periods are 422 in each surface's dialect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ApiClient, startTestServer, waitFor, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { relayTo } from '../helpers/relay-server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';
import { sealToken } from '../../src/domain/tokens.ts';
import { findTransmissionSources } from '../../src/store/counters.ts';
import { signTrackingToken } from '../../src/domain/tracking-tokens.ts';
import { bulkSubscribers } from '../helpers/marketing-fixtures.ts';
import { insertAccount } from '../../src/store/accounts.ts';

const READER = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
const today = () => new Date().toISOString().slice(0, 10);

describe(`statistics from counters (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;
  let api: ApiClient;
  let accountId: string;
  const tag = randomBytes(3).toString('hex');
  const r1 = `r1-${tag}@a.example`;
  const r2 = `r2-${tag}@b.example`;
  const gone = `bounce-${tag}@a.example`;

  beforeAll(async () => {
    sink = await startSmtpSink();
    sink.rules.push({
      recipient: /^bounce-/,
      code: 550,
      message: '5.1.1 <x>: Recipient address rejected: User unknown',
    });
    server = await startTestServer({
      ...relayTo(sink),
    });
    const account = await server.newAccount();
    api = account.api;
    accountId = account.accountId;

    const res = await api.post('/v1/layang/transmissions', {
      from: { email: 'news@brand.example' },
      subject: 'Stats',
      to: [{ email: r1 }, { email: r2 }, { email: gone }],
      bodyHtml: '<html><body><a href="https://shop.example.com/">Shop</a></body></html>',
      labels: ['welcome'],
      optionsAttributes: { openTracking: true, clickTracking: true },
    });
    expect(res.status, res.text).toBe(200);
    await waitForTransmission(api, res.body.transmissionId);
    // r1 opens and clicks twice; r2 does nothing.
    const mail = await waitFor(async () => sink.messages.find((m) => m.to.includes(r1)), 10_000, 'mail for r1');
    const html = String(mail.parsed.html);
    const path = (re: RegExp) => new URL(re.exec(html)![1]!).pathname;
    const get = (p: string) => fetch(server.url + p, { redirect: 'manual', headers: { 'user-agent': READER } });
    expect((await get(path(/<img src="([^"]+)"/))).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await get(path(/href="([^"]+)"/))).status).toBe(302);
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  it('the summary matches what the sink received', async () => {
    const received = sink.messages.filter((m) => m.to.some((t) => t.includes(tag)));
    expect(received).toHaveLength(2);
    const res = await api.get('/v1/analytic/summary');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      name: expect.any(String),
      period: { to: today() },
      sent: 3,
      delivered: received.length,
      opened: 1,
      clicked: 1,
      bounced: 1,
      unsubscribed: 0,
      deliveryRate: 66.67,
      openRate: 50,
      clickRate: 50,
      bounceRate: 33.33,
      injected: 3,
      totalOpens: 1,
      totalClicks: 2,
    });
    // A period without mail is all zeros.
    const past = await api.get('/v1/analytic/summary?from=2020-01-01&to=2020-01-31');
    expect(past.body).toMatchObject({
      period: { from: '2020-01-01', to: '2020-01-31' },
      sent: 0,
      delivered: 0,
      openRate: 0,
    });
  });

  it('breaks the summary down by day, domains, label and sub-account', async () => {
    const by = async (groupBy: string) => {
      const res = await api.get(`/v1/analytic/summary/breakdown?groupBy=${groupBy}`);
      expect(res.status, res.text).toBe(200);
      // The contract's shape: an array of summaries, each named by its group's value.
      expect(Array.isArray(res.body)).toBe(true);
      return (res.body as any[]).map(({ name, ...rest }) => ({ key: name, ...rest }));
    };
    const days = await by('DAY');
    expect(days).toHaveLength(30);
    expect(days.at(-1)).toMatchObject({ key: today(), sent: 3, delivered: 2, bounced: 1, opened: 1, clicked: 1 });
    expect(days.slice(0, -1).every((d) => d.sent === 0)).toBe(true);

    const recipients = await by('RECIPIENT_DOMAIN');
    expect(recipients.map((r) => [r.key, r.sent, r.delivered, r.bounced, r.opened])).toEqual([
      ['a.example', 2, 1, 1, 1],
      ['b.example', 1, 1, 0, 0],
    ]);
    expect(await by('SENDING_DOMAIN')).toEqual([
      expect.objectContaining({ key: 'brand.example', sent: 3, delivered: 2, clicked: 1 }),
    ]);
    expect(await by('LABEL')).toEqual([expect.objectContaining({ key: 'welcome', sent: 3, delivered: 2 })]);
    expect(await by('SUBACCOUNT_ID')).toEqual([]);
  });

  it("reads a transmission's labels out of its stored content (after a restart, the cache is empty)", async () => {
    const own = (await server.newAccount()).api; // the totals of the main account stay as they are
    const res = await own.post('/v1/layang/transmissions', {
      from: { email: 'x@brand.example' },
      subject: 's',
      bodyText: 't',
      to: [{ email: `l-${tag}@d.example` }],
      labels: ['x', 'y'],
    });
    const none = await own.post('/v1/layang/transmissions', {
      from: { email: 'x@brand.example' },
      subject: 's',
      bodyText: 't',
      to: [{ email: `n-${tag}@d.example` }],
    });
    const rows = await findTransmissionSources(server.app.ctx.db, [res.body.transmissionId, none.body.transmissionId]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(JSON.parse(byId.get(res.body.transmissionId)!.labels!)).toEqual(['x', 'y']);
    expect(JSON.parse(byId.get(none.body.transmissionId)!.labels ?? '[]')).toEqual([]);
    expect(byId.get(res.body.transmissionId)!.from_email).toBe('x@brand.example');
  });

  it('refuses bad periods and groupings in the transactional dialect', async () => {
    for (const q of [
      'groupBy=WEEK',
      'groupBy=DAY&from=2025-13-01',
      'groupBy=DAY&from=2025-02-30',
      'groupBy=DAY&from=2025-03-02&to=2025-03-01',
      'groupBy=DAY&from=2020-01-01&to=2025-01-01',
    ]) {
      const res = await api.get(`/v1/analytic/summary/breakdown?${q}`);
      expect(res.status, q).toBe(422);
      expect(res.body.errors[0]).toMatchObject({ code: expect.any(String) });
    }
  });

  it('marketing statistics: the same counters, with a daily series; unsubscribes counted once', async () => {
    const created = await api.post('/api/v1/subscribers', { email: `sub-${tag}@c.example` });
    expect(created.status, created.text).toBe(201);
    const token = sealToken(server.app.ctx.secret, {
      purpose: 'unsubscribe',
      accountId,
      subscriberId: created.body.data.id,
      channelId: null,
      exp: Date.now() + 3600_000,
    });
    for (let i = 0; i < 2; i++)
      expect((await fetch(`${server.url}/p/unsubscribe/${token}`, { method: 'POST' })).status).toBe(200);

    const res = await api.get(`/api/v1/statistics?from=${today()}&to=${today()}%2023:59:59`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toMatchObject({
      objectType: 'Statistics',
      from: today(),
      to: today(),
      recipients: 3,
      sent: 3,
      delivered: 2,
      bounced: { total: 1, hard: 1, soft: 0 },
      opens: { total: 1, unique: 1 },
      clicks: { total: 2, unique: 1 },
      unsubscribes: 1,
      complaints: 0,
      openRate: 50,
      clickRate: 50,
    });
    expect(res.body.data.days).toEqual([expect.objectContaining({ date: today(), delivered: 2, unsubscribes: 1 })]);
    const summary = await api.get('/v1/analytic/summary');
    expect(summary.body.unsubscribed).toBe(1);

    const bad = await api.get('/api/v1/statistics?from=yesterday');
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ status: 'error', code: 1002, statusCode: 422 });
  });

  it("a mailing's statistics are 404 unless the mailing is the caller's", async () => {
    for (const id of ['999999', 'abc']) {
      const res = await api.get(`/api/v1/mailings/${id}/statistics`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ status: 'error', code: 1020 });
    }
  });

  it(
    "a sent mailing's statistics: recipients, deliveries, a timeline and the unsubscribes from its mail",
    { timeout: 60_000 },
    async () => {
      const { api: own, accountId: ownAccount } = await server.newAccount();
      const channel = (await own.post('/api/v1/channels', { name: 'Stats', senderEmail: 'letters@brand.example' })).body
        .data;
      const emails = [0, 1, 2].map((i) => `m${i}-${tag}@e.example`);
      await bulkSubscribers(
        own,
        emails.map((email) => ({ email, channels: [channel.id] })),
      );
      const mailing = (
        await own.post('/api/v1/mailings', {
          name: 'Stats issue',
          channelId: channel.id,
          senderEmail: 'letters@brand.example',
          subject: 'Issue',
          html: '<html><body>Hi <a href="{{ unsubscribeUrl }}">unsubscribe</a></body></html>',
        })
      ).body.data;
      expect((await own.post(`/api/v1/mailings/${mailing.id}/send`)).status).toBe(200);
      await waitFor(
        async () => (await own.get(`/api/v1/mailings/${mailing.id}`)).body.data.status === 'sent',
        30_000,
        'the mailing to be sent',
      );
      const mails = await waitFor(
        async () => {
          const got = sink.messages.filter((m) => emails.includes(m.to[0]!));
          return got.length === 3 ? got : null;
        },
        20_000,
        'three mailing messages',
      );
      const stats = async () => {
        const res = await own.get(`/api/v1/mailings/${mailing.id}/statistics`);
        expect(res.status, res.text).toBe(200);
        return res.body.data;
      };
      await waitFor(async () => (await stats()).delivered === 3, 10_000, 'three deliveries counted');
      const unsubscribe = /href="([^"]+\/p\/unsubscribe\/[^"]+)"/.exec(String(mails[0]!.parsed.html))![1]!;
      expect((await fetch(server.url + new URL(unsubscribe).pathname, { method: 'POST' })).status).toBe(200);

      const s = await stats();
      expect(s).toMatchObject({
        objectType: 'MailingStatistics',
        mailingId: mailing.id,
        recipients: 3,
        sent: 3,
        delivered: 3,
        deferred: 0,
        bounced: { total: 0, hard: 0, soft: 0 },
        opens: { total: 0, unique: 0 },
        clicks: { total: 0, unique: 0 },
        complaints: 0,
        openRate: 0,
        bounceRate: 0,
        links: [],
      });
      expect(s.timeline).toEqual([expect.objectContaining({ date: today(), delivered: 3 })]);
      // Attributed to the mailing when its unsubscribe links carry the mailing (they do for mailings).
      expect(s.unsubscribes).toBe(1);
      expect(s.unsubscribeRate).toBe(33.33);

      // Opens and clicks of a mailing's message (tokens as the mailing's tracked HTML carries them)
      // count for the mailing and its links, and set the subscriber's lastOpenedAt/lastClickedAt.
      const reader = mails[1]!;
      const messageId = reader.messageId.replace(/^<|@.*$/g, '');
      const sign = (kind: 'open' | 'click', url?: string) =>
        signTrackingToken(server.app.ctx.secret, {
          kind,
          messageId,
          accountId: ownAccount,
          ...(url ? { linkIndex: 0, url } : {}),
        });
      await new Promise((r) => setTimeout(r, 2000)); // past the window in which a fetch counts as a receiving server's scan
      const hit = (path: string) => fetch(server.url + path, { redirect: 'manual', headers: { 'user-agent': READER } });
      expect((await hit(`/t/o/${sign('open')}`)).status).toBe(200);
      expect((await hit(`/t/c/${sign('click', 'https://shop.example.com/a')}`)).status).toBe(302);
      expect((await hit(`/t/c/${sign('click', 'https://shop.example.com/a')}`)).status).toBe(302);
      expect((await hit(`/t/c/${sign('click', 'https://shop.example.com/b')}`)).status).toBe(302);
      const engaged = await stats();
      expect(engaged).toMatchObject({
        opens: { total: 1, unique: 1 },
        clicks: { total: 3, unique: 1 },
        openRate: 33.33,
        clickRate: 33.33,
      });
      expect(engaged.links).toEqual([
        { url: 'https://shop.example.com/a', clicks: 2, uniqueClicks: 1 },
        { url: 'https://shop.example.com/b', clicks: 1, uniqueClicks: 1 },
      ]);
      for (const field of ['lastOpenedAt', 'lastClickedAt']) {
        const search = encodeURIComponent(
          JSON.stringify([{ [field]: { condition: '>', value: '2000-01-01 00:00:00' } }]),
        );
        const found = await own.get(`/api/v1/subscribers?search=${search}`);
        expect(found.status, found.text).toBe(200);
        expect(
          found.body.data.map((x: any) => x.email),
          field,
        ).toEqual([reader.to[0]]);
      }

      // Someone else's mailing is not found.
      expect((await api.get(`/api/v1/mailings/${mailing.id}/statistics`)).status).toBe(404);
    },
  );

  it('counts exactly when many accepts share one commit', async () => {
    const { api: own } = await server.newAccount();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        own.post('/v1/layang/transmissions', {
          from: { email: 'bulk@brand.example' },
          subject: 's',
          bodyText: 't',
          to: [{ email: `c${i}-${tag}@f.example` }, { email: `d${i}-${tag}@g.example` }],
          labels: [`l${i % 3}`],
        }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const summary = (await own.get('/v1/analytic/summary')).body;
    expect(summary.injected).toBe(120);
    const labels = (await own.get('/v1/analytic/summary/breakdown?groupBy=LABEL')).body;
    expect(labels.map((l: any) => [l.name, l.injected])).toEqual([
      ['l0', 40],
      ['l1', 40],
      ['l2', 40],
    ]);
    const domains = (await own.get('/v1/analytic/summary/breakdown?groupBy=RECIPIENT_DOMAIN')).body;
    expect(domains.map((d: any) => [d.name, d.injected])).toEqual([
      ['f.example', 60],
      ['g.example', 60],
    ]);
  });

  it('breaks a parent account down by its sub-accounts', async () => {
    const { api: parent, accountId: parentId } = await server.newAccount();
    const subs = [`sub-a-${tag}`, `sub-b-${tag}`].sort();
    const intIds: number[] = [];
    for (const [i, id] of subs.entries()) {
      const { int_id } = await insertAccount(server.app.ctx.db, {
        id,
        name: id,
        parent_id: parentId,
        status: 'Active',
        created_at: Date.now(),
      });
      intIds.push(int_id);
      const sub = new ApiClient(server.url, await server.newKey({ accountId: id, name: 'sub' }));
      const to = Array.from({ length: i + 1 }, (_, k) => ({ email: `s${k}-${tag}@h.example` }));
      expect(
        (
          await sub.post('/v1/layang/transmissions', {
            from: { email: 'x@brand.example' },
            subject: 's',
            bodyText: 't',
            to,
          })
        ).status,
      ).toBe(200);
    }
    const res = await parent.get('/v1/analytic/summary/breakdown?groupBy=SUBACCOUNT_ID');
    expect(res.status, res.text).toBe(200);
    // Named by the sub-accounts' integer ids (as text, like every breakdown name).
    expect(res.body.map((r: any) => [r.name, r.injected])).toEqual([
      [String(intIds[0]), 1],
      [String(intIds[1]), 2],
    ]);
  });

  it('other accounts see none of it', async () => {
    const other = (await server.newAccount()).api;
    expect((await other.get('/v1/analytic/summary')).body).toMatchObject({ sent: 0, delivered: 0, opened: 0 });
    expect((await other.get('/api/v1/statistics')).body.data).toMatchObject({ sent: 0, unsubscribes: 0 });
  });
});
