// Open and click tracking end to end: a tracked transmission goes through the relay to a real SMTP
// sink; the test reads the HTML that arrived, fetches its pixel and links over HTTP (redirects not
// followed), and checks the events and counters the API reports. Altered tokens redirect nowhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { waitFor, waitForTransmission, type ApiClient, type TestServer } from '../helpers/server.ts';
import { startRelayedServer } from '../helpers/relay-server.ts';
import type { ReceivedMessage, SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';

const READER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const address = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}@example.org`;

describe(`open and click tracking (${dialectName})`, () => {
  let sink: SmtpSink;
  let server: TestServer;
  let api: ApiClient;

  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
    api = (await server.newAccount()).api; // its own account: the account totals below are exact
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  async function sendAndReceive(
    to: string,
    body: Record<string, unknown>,
  ): Promise<{ transmissionId: string; mail: ReceivedMessage; message: any }> {
    const res = await api.post('/v1/layang/transmissions', {
      from: { email: 'news@example.com' },
      subject: 'Tracked',
      to: [{ email: to }],
      ...body,
    });
    expect(res.status, res.text).toBe(200);
    const transmissionId = res.body.transmissionId as string;
    const [message] = await waitForTransmission(api, transmissionId);
    expect(message.status).toBe('delivered');
    const mail = await waitFor(async () => sink.messages.find((m) => m.to.includes(to)), 10_000, `mail for ${to}`);
    return { transmissionId, mail, message };
  }

  /** Path and query of a link in the received mail (PUBLIC_URL is the configured one, port 0 in tests). */
  const pathOf = (url: string) => {
    const u = new URL(url);
    return u.pathname + u.search;
  };
  const get = (path: string, init: RequestInit = {}) =>
    fetch(server.url + path, {
      redirect: 'manual',
      ...init,
      headers: { 'user-agent': READER, ...(init.headers ?? {}) },
    });

  it('rewrites links, adds the pixel, records opens and clicks with their counters', async () => {
    const to = address('reader');
    const html = `<html><body><p>Hi</p>
      <a href="https://shop.example.com/sale?x=1&amp;y=2">Sale</a>
      <a HREF='http://blog.example.com/post'>Blog</a>
      <a href="mailto:help@example.com">Help</a>
      <a data-no-track href="https://keep.example.com/">Keep</a>
    </body></html>`;
    const { transmissionId, mail, message } = await sendAndReceive(to, {
      bodyHtml: html,
      optionsAttributes: { openTracking: true, clickTracking: true },
    });

    const received = String(mail.parsed.html);
    const tracked = [...received.matchAll(/href="([^"]+\/t\/c\/[A-Za-z0-9_-]+)"/g)].map((m) => m[1]!);
    expect(tracked).toHaveLength(2);
    expect(received).toContain('href="mailto:help@example.com"');
    expect(received).toContain('href="https://keep.example.com/"');
    expect(received).not.toContain('shop.example.com');
    const pixel = /<img src="([^"]+\/t\/o\/[A-Za-z0-9_-]+)"/.exec(received)?.[1];
    expect(pixel).toBeDefined();
    expect(received.indexOf(pixel!)).toBeLessThan(received.indexOf('</body>'));

    // An image proxy fetching at once: a machine open, flagged.
    const proxied = await get(pathOf(pixel!), {
      headers: {
        'user-agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      },
    });
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('content-type')).toBe('image/gif');
    expect(proxied.headers.get('cache-control')).toContain('no-store');
    expect(Buffer.from(await proxied.arrayBuffer())).toHaveLength(43);

    // The reader, later than the 2 s a receiving server's scan takes.
    const wait = Date.parse(message.deliveredAt) + 2100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    expect((await get(pathOf(pixel!))).status).toBe(200);

    const first = await get(pathOf(tracked[0]!));
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('https://shop.example.com/sale?x=1&y=2');
    expect((await get(pathOf(tracked[0]!))).headers.get('location')).toBe('https://shop.example.com/sale?x=1&y=2');
    const second = await get(pathOf(tracked[1]!));
    expect(second.status).toBe(302);
    expect(second.headers.get('location')).toBe('http://blog.example.com/post');

    const events = (await api.get(`/v1/analytic/transmission/${transmissionId}/events`)).body.events as any[];
    const opens = events.filter((e) => e.type === 'open');
    const clicks = events.filter((e) => e.type === 'click');
    expect(opens).toHaveLength(2);
    expect(opens[1].userAgent).toBe(READER);
    expect(clicks.map((c) => c.url)).toEqual([
      'https://shop.example.com/sale?x=1&y=2',
      'https://shop.example.com/sale?x=1&y=2',
      'http://blog.example.com/post',
    ]);
    expect(clicks.every((c) => c.recipient === to && c.userAgent === READER)).toBe(true);

    // Type-specific data as stored: truncated IP, machine flag, unique markers.
    const rows = await server.app.ctx.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('transmission_id', '=', transmissionId)
      .where('type', 'in', ['open', 'click'])
      .orderBy('id')
      .execute();
    const data = rows.map((r) => JSON.parse(r.data!));
    expect(data.map((d) => [d.machine, d.unique])).toEqual([
      [true, true],
      [false, false],
      [false, true],
      [false, false],
      [false, false],
    ]);
    expect(data[2]).toMatchObject({ ip: '127.0.0.0', linkIndex: 0, uniqueLink: true });
    expect(data[3]).toMatchObject({ uniqueLink: false });
    expect(data[4]).toMatchObject({ linkIndex: 1, uniqueLink: true });

    const summary = await api.get(`/v1/analytic/transmission/${transmissionId}`);
    expect(summary.body.stats).toMatchObject({ delivered: 1, opened: 1, clicked: 1, bounced: 0 });

    const account = await api.get('/v1/analytic/summary');
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({
      sent: 1,
      delivered: 1,
      opened: 1,
      clicked: 1,
      bounced: 0,
      totalOpens: 2,
      machineOpens: 1,
      totalClicks: 3,
      openRate: 100,
      clickRate: 100,
    });
  });

  it('an altered or forged token is a 404 that redirects nowhere', async () => {
    const to = address('forger');
    const { mail } = await sendAndReceive(to, {
      bodyHtml: '<a href="https://good.example.com/">x</a>',
      optionsAttributes: { clickTracking: true },
    });
    const link = pathOf(/href="([^"]+)"/.exec(String(mail.parsed.html))![1]!);
    const token = link.slice('/t/c/'.length);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const forged = Buffer.from(token, 'base64url');
    const body = forged
      .subarray(0, forged.length - 16)
      .toString('latin1')
      .replace('good.example.com', 'evil.example.net');
    const candidates = [
      flip(token, 5),
      flip(token, Math.floor(token.length / 2)),
      flip(token, token.length - 3),
      Buffer.concat([Buffer.from(body, 'latin1'), forged.subarray(forged.length - 16)]).toString('base64url'),
      token.slice(0, -4),
      'not-a-token',
      `${token}/extra`,
    ];
    for (const bad of candidates) {
      const res = await get(`/t/c/${bad}`);
      expect(res.status, bad).toBe(404);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toContain('text/html');
    }
    // The click token is not an open token, and the pixel refuses junk too.
    expect((await get(`/t/o/${token}`)).status).toBe(404);
    expect((await get('/t/o/AAAA')).status).toBe(404);
    // Link checkers' HEAD requests are not clicks.
    expect((await get(link, { method: 'HEAD' })).status).toBe(404);
    // The real one still works.
    expect((await get(link)).headers.get('location')).toBe('https://good.example.com/');
  });

  it('leaves mail without tracking options untouched', async () => {
    const to = address('plain');
    const html = '<html><body><a href="https://shop.example.com/">Shop</a></body></html>';
    const { mail, transmissionId } = await sendAndReceive(to, { bodyHtml: html });
    const received = String(mail.parsed.html);
    expect(received).toContain('href="https://shop.example.com/"');
    expect(received).not.toContain('/t/o/');
    const summary = await api.get(`/v1/analytic/transmission/${transmissionId}`);
    expect(summary.body.stats).toMatchObject({ delivered: 1, opened: 0, clicked: 0 });
  });
});
