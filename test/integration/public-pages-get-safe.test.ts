// Mail scanners and link prefetchers GET (and HEAD) every link in a mail. A GET of any public page
// under /p must therefore change nothing: no subscriber confirmed or unsubscribed, no event, no
// counter. The routes are read from the running server's route table, and each is opened with a
// valid token of every purpose (and the account's real ids), so a page added later is walked too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import type { FastifyInstance } from 'fastify';
import { pathParams } from '../helpers/route-list.ts';
import { sealToken, TOKEN_PURPOSES } from '../../src/domain/tokens.ts';

/**
 * Every route with its methods, read from Fastify's radix tree (printRoutes() as it is by default:
 * each line one node, its text appended to its parent's). The flat form route-list.ts reads leaves
 * out wildcard routes below a common prefix, and the public pages are such routes.
 */
function routeTable(app: FastifyInstance): Array<{ url: string; methods: string[] }> {
  const routes: Array<{ url: string; methods: string[] }> = [];
  const paths: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    const url = (depth > 0 ? paths[depth - 1] : '') + match[2];
    paths.length = depth;
    paths[depth] = url;
    if (match[3]) routes.push({ url, methods: match[3].split(', ') });
  }
  return routes;
}

/** What a GET must not change. The delivery worker and the webhook dispatcher are idle by then. */
const WATCHED_TABLES = [
  'subscribers',
  'subscriber_channels',
  'subscriber_field_values',
  'subscriber_group_members',
  'events',
  'counters',
  'engagement_firsts',
  'link_clicks',
  'suppressions',
  'blacklist',
  'transmissions',
  'messages',
  'account_usage',
  'jobs',
  'webhook_batches',
  'sandbox_recipients',
] as const;

describe(`a GET of any /p page changes nothing (${dialectName})`, () => {
  let server: TestServer;
  let channelId: number;
  let mailingId: number;
  let consentToken: string;
  const subscriberIds: number[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    const channel = await server.api.post('/api/v1/channels', { name: 'Weekly', senderEmail: 'news@example.com' });
    expect(channel.status, channel.text).toBe(201);
    channelId = channel.body.data.id;
    // A pending subscriber (its opt-in mail goes out) and a ready one, both in the channel.
    for (const [email, status] of [
      ['pending@example.org', undefined],
      ['ready@example.org', 1],
    ] as const) {
      const res = await server.api.post('/api/v1/subscribers', {
        email,
        channels: [channelId],
        ...(status ? { status } : { sendOptIn: true }),
      });
      expect(res.status, res.text).toBe(201);
      subscriberIds.push(res.body.data.id);
    }
    const mailing = await server.api.post('/api/v1/mailings', {
      name: 'June',
      channelId,
      senderEmail: 'news@example.com',
      subject: 'Hi',
      html: '<p>Hello {{ firstname }}</p><a href="{{ unsubscribeUrl }}">unsubscribe</a>',
    });
    expect(mailing.status, mailing.text).toBe(201);
    mailingId = mailing.body.data.id;
    // A sandbox recipient waiting for consent: its mail (captured here) carries the /p/consent link.
    const recipient = await server.api.post('/v1/sandbox/recipients', { email: 'consent@example.org' });
    expect(recipient.status, recipient.text).toBeLessThan(300);
    consentToken = await waitFor(
      async () => {
        const list = await server.api.get('/v1/messages?recipient=consent@example.org');
        const id = list.body?.data?.[0]?.id;
        if (!id) return null;
        const raw = await server.api.get(`/v1/messages/${id}/raw`);
        return /\/p\/consent\/([A-Za-z0-9_.-]+)/.exec(raw.text.replace(/=\r?\n/g, ''))?.[1] ?? null;
      },
      20_000,
      'the consent mail',
    );
  }, 90_000);
  afterAll(async () => server?.close());

  async function snapshot(): Promise<string> {
    const db = server.app.ctx.db;
    const parts: Record<string, string[]> = {};
    for (const table of WATCHED_TABLES) {
      const rows = await db.selectFrom(table).selectAll().execute();
      parts[table] = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).sort();
    }
    return JSON.stringify(parts);
  }

  /** Waits until the background work (the opt-in mail, counters) has settled. */
  async function settled(): Promise<string> {
    let last = await snapshot();
    return waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 300));
        const now = await snapshot();
        const same = now === last;
        last = now;
        return same ? now : null;
      },
      20_000,
      'the store to settle',
    );
  }

  it('walks every GET route under /p with every kind of token', async () => {
    const pageRoutes = routeTable(server.app.http!)
      .filter((r) => r.methods.includes('GET') && r.url.startsWith('/p/'))
      .map((r) => r.url);
    expect(pageRoutes).toEqual(expect.arrayContaining(['/p/confirm/*', '/p/unsubscribe/*', '/p/preferences/*']));

    const accountId = server.accountId;
    const exp = Date.now() + 24 * 3600_000;
    const tokens = subscriberIds.flatMap((subscriberId) =>
      TOKEN_PURPOSES.flatMap((purpose) =>
        [channelId, null].map((channel) =>
          sealToken(server.app.ctx.secret, { purpose, accountId, subscriberId, channelId: channel, mailingId, exp }),
        ),
      ),
    );
    const paramValue: Record<string, string[]> = {
      accountId: [accountId],
      channelId: [String(channelId)],
      mailingId: [String(mailingId)],
      subscriberId: subscriberIds.map(String),
      token: [consentToken],
    };
    /** Every way to fill the route's parameters: wildcards with each token, named ones from paramValue. */
    const fill = (url: string): string[] => {
      let urls = [url];
      for (const param of pathParams(url)) {
        const values = param === '*' ? tokens : (paramValue[param] ?? [accountId, String(channelId), '1']);
        const pattern = param === '*' ? '*' : `:${param}`;
        urls = urls.flatMap((u) => values.map((v) => u.replace(pattern, encodeURIComponent(v))));
      }
      return urls;
    };

    const before = await settled();
    const answered = new Map<string, number[]>();
    for (const route of pageRoutes) {
      for (const url of fill(route)) {
        for (const method of ['GET', 'HEAD']) {
          const res = await fetch(server.url + url, { method, redirect: 'manual' });
          await res.arrayBuffer();
          expect(res.status, `${method} ${url}`).toBeLessThan(500);
          answered.set(route, [...(answered.get(route) ?? []), res.status]);
        }
      }
    }
    // Each page really showed itself for some token (not only its 404): otherwise the walk proved
    // nothing for it. A new page whose links carry another kind of id needs it in paramValue above.
    for (const route of pageRoutes) expect(answered.get(route), route).toContain(200);

    await new Promise((r) => setTimeout(r, 300));
    expect(await snapshot()).toBe(before);
    // And the pending subscriber is still pending.
    const pending = await server.api.get(`/api/v1/subscribers/${subscriberIds[0]}`);
    expect(pending.body.data).toMatchObject({ status: 2, statusAddition: 1, optInConfirmedAt: null });
  }, 120_000);
});
