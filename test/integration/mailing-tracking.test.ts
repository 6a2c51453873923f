// Open and click tracking of a mailing, end to end: the mailing goes through the worker and relay
// to an SMTP sink with tracking on; the received HTML carries the pixel and rewritten links (but
// not for the unsubscribe link); fetching them over HTTP records opens and clicks in the mailing's
// statistics and the subscriber's lastOpenedAt / lastClickedAt. A mailing with tracking off gets
// none of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestServer } from '../helpers/server.ts';
import { startRelayedServer } from '../helpers/relay-server.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';
import { bulkSubscribers } from '../helpers/marketing-fixtures.ts';

describe(`mailing tracking (${dialectName})`, () => {
  let server: TestServer;
  let sink: SmtpSink;
  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  const created = async (path: string, body: unknown) => {
    const res = await server.api.post(path, body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  };
  const local = (link: string) => server.url + new URL(link).pathname;
  const hrefs = (html: string) => [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

  async function sendMailing(subject: string, tracking: { opens: boolean; clicks: boolean }, emails: string[]) {
    const channel = await created('/api/v1/channels', { name: `Channel ${subject}`, senderEmail: 'news@example.com' });
    const ids = await bulkSubscribers(
      server.api,
      emails.map((email) => ({ email, firstname: 'Ada', channels: [channel.id] })),
    );
    const group = await created('/api/v1/subscriberGroups', { name: `Group ${subject}`, type: 1 });
    expect(
      (await server.api.post(`/api/v1/subscriberGroups/${group.id}/subscribers`, { subscriberIds: ids })).status,
    ).toBe(200);
    const mailing = await created('/api/v1/mailings', {
      name: subject,
      channelId: channel.id,
      subscriberGroupIds: [group.id],
      senderEmail: 'news@example.com',
      subject,
      tracking,
      html: '<html><body><p>Hi {{ firstname }}</p><a href="https://shop.example/item?id=7&amp;ref=news">item</a> <a href="https://blog.example/post">post</a> <a href="{{ unsubscribeUrl }}">unsubscribe</a></body></html>',
    });
    expect((await server.api.post(`/api/v1/mailings/${mailing.id}/send`)).status).toBe(200);
    await waitFor(
      async () => sink.messages.filter((m) => m.parsed.subject === subject).length === emails.length || null,
      30_000,
      'the mailing',
    );
    return { mailing, ids, received: sink.messages.filter((m) => m.parsed.subject === subject) };
  }

  it(
    'pixel and links of a tracked mailing count opens and clicks, per link and per subscriber',
    { timeout: 60_000 },
    async () => {
      const { mailing, ids, received } = await sendMailing('Tracked issue', { opens: true, clicks: true }, [
        't1@example.org',
        't2@example.org',
      ]);
      const first = received.find((m) => m.to[0] === 't1@example.org')!;
      const html = String(first.parsed.html);
      const pixel = html.match(/<img[^>]+src="([^"]+\/t\/o\/[^"]+)"/)?.[1];
      expect(pixel, html).toBeTruthy();
      const links = hrefs(html);
      const tracked = links.filter((l) => l.includes('/t/c/'));
      expect(tracked).toHaveLength(2);
      expect(links.filter((l) => l.includes('/p/unsubscribe/'))).toHaveLength(1); // never rewritten
      expect(html).not.toContain('shop.example');

      // Opened later than the machine-open window after delivery.
      await new Promise((r) => setTimeout(r, 2100));
      const gif = await fetch(local(pixel!), { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Test' } });
      expect(gif.status).toBe(200);
      expect(gif.headers.get('content-type')).toBe('image/gif');
      const click = await fetch(local(tracked[0]!), {
        redirect: 'manual',
        headers: { 'user-agent': 'Mozilla/5.0 Test' },
      });
      expect(click.status).toBe(302);
      expect(click.headers.get('location')).toBe('https://shop.example/item?id=7&ref=news');
      await fetch(local(tracked[0]!), { redirect: 'manual' }); // a second click: total, not unique

      // An altered token redirects nowhere.
      const altered = local(tracked[1]!).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      const forged = await fetch(altered, { redirect: 'manual' });
      expect(forged.status).toBe(404);
      expect(forged.headers.get('location')).toBeNull();

      const stats = await waitFor(
        async () => {
          const res = await server.api.get(`/api/v1/mailings/${mailing.id}/statistics`);
          expect(res.status, res.text).toBe(200);
          return res.body.data.clicks.total === 2 ? res.body.data : null;
        },
        10_000,
        'the click counters',
      );
      expect(stats.opens).toEqual({ total: 1, unique: 1, machine: 0 });
      expect(stats.clicks).toEqual({ total: 2, unique: 1 });
      expect(stats.links).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ url: 'https://shop.example/item?id=7&ref=news', clicks: 2, uniqueClicks: 1 }),
        ]),
      );

      // lastOpenedAt / lastClickedAt are what dynamic groups select engaged subscribers by.
      const engaged = async (field: string) => {
        const search = encodeURIComponent(
          JSON.stringify([
            { [field]: { condition: '>=', value: '2000-01-01 00:00:00' } },
            { email: { condition: 'like', value: 't%' } },
          ]),
        );
        const res = await server.api.get(`/api/v1/subscribers?search=${search}`);
        expect(res.status, res.text).toBe(200);
        return (res.body.data as Array<{ id: number }>).map((s) => s.id);
      };
      expect(await engaged('lastOpenedAt')).toEqual([ids[0]]);
      expect(await engaged('lastClickedAt')).toEqual([ids[0]]);
    },
  );

  it('a mailing with tracking off keeps its links and has no pixel', { timeout: 60_000 }, async () => {
    const { received } = await sendMailing('Untracked issue', { opens: false, clicks: false }, ['u1@example.org']);
    const html = String(received[0]!.parsed.html);
    expect(html).not.toMatch(/\/t\/[oc]\//);
    expect(hrefs(html)).toContain('https://shop.example/item?id=7&ref=news');
  });
});
