// Isolation, walked over every route: account A owns one of every resource; account B calls every
// route that takes an id with A's ids (and, where a route takes two ids, with mixes of its own and
// A's), then refers to A's ids inside bodies and queries of its own requests. Nothing may answer
// 2xx, every refusal speaks its surface's dialect, B's own reads never show A's data, and A's
// resources read back exactly as before. The walk itself is in test/helpers/isolation-walker.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { createAccountResources, type AccountResources } from '../helpers/account-resources.ts';
import type { RouteInfo } from '../helpers/route-list.ts';
import {
  startWalkServer,
  MARKETING,
  TRANSACTIONAL,
  ownReadProblems,
  readAll,
  refusalProblems,
  routeKey,
  walkForeignIds,
} from '../helpers/isolation-walker.ts';

describe(`isolation walk over every route (${dialectName})`, () => {
  let server: TestServer;
  let routes: RouteInfo[];
  let a: AccountResources; // the owner
  let b: AccountResources; // the intruder's own resources
  let intruder: ApiClient;
  const before = new Map<string, { status: number; body: unknown }>();

  beforeAll(async () => {
    ({ server, routes } = await startWalkServer());
    const other = await server.newAccount();
    intruder = other.api;
    // An address nothing listens on: the webhooks are inactive and never called.
    const inboundPort = server.app.inbound!.port;
    a = await createAccountResources(server.api, 'alpha-private', 'http://127.0.0.1:9/hook', { inboundPort });
    b = await createAccountResources(intruder, 'bravo-own', 'http://127.0.0.1:9/hook', { inboundPort });
    for (const [path, read] of await readAll(server.api, routes, a)) before.set(path, read);
  }, 120_000);
  afterAll(async () => server?.close());

  it('discovers the routes from the running server', () => {
    const keys = routes.map(routeKey);
    for (const known of [
      `GET ${MARKETING}/subscribers/:id`,
      `DELETE ${MARKETING}/subscriberGroups/:id/subscribers/:subscriberId`,
      `PUT ${TRANSACTIONAL}/domain/sending/:id/verify-txt`,
      `GET ${TRANSACTIONAL}/messages/:id/raw`,
    ]) {
      expect(keys).toContain(known);
    }
    // The owner reads every one of its resources (otherwise the walk would prove nothing).
    // A read that needs a query parameter belongs in READ_QUERIES.
    const unreadable = [...before]
      .filter(([, r]) => r.status !== 200)
      .map(([path, r]) => `${path} → ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
    expect(unreadable, unreadable.join('\n')).toEqual([]);
  });

  it("answers every route with another account's ids with a refusal in the surface's dialect, never 2xx", async () => {
    const { problems, calls } = await walkForeignIds(routes, a, b, intruder);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(calls).toBeGreaterThan(50);
  });

  // Before the cases below, which give B its own copies of A's unique values on purpose.
  it("B's own reads (lists, and routes filled with B's ids) never show A's data", async () => {
    const problems = await ownReadProblems(routes, a, b, intruder);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  describe("another account's ids inside B's own requests", () => {
    const refused = (res: ApiResponse, surface: string, what: string) => {
      expect(refusalProblems(res, surface, [404, 422]), what).toEqual([]);
      expect(res.text, what).not.toContain(a.tag);
    };
    const subscriber = () => Number(a.ids.subscriber[0]);
    const channel = () => Number(a.ids.channel[0]);
    const field = () => a.ids.customerField[0]!;
    const group = () => Number(a.ids.group[0]);

    it("cannot subscribe its subscribers to A's channel or fill A's customer field", async () => {
      refused(
        await intruder.post('/api/v1/subscribers', { email: 'x1@bravo.example', channels: [channel()] }),
        MARKETING,
        'create with A channel',
      );
      refused(
        await intruder.post('/api/v1/subscribers', { email: 'x2@bravo.example', customerFields: { [field()]: 'v' } }),
        MARKETING,
        'create with A field',
      );
      refused(
        await intruder.put(`/api/v1/subscribers/${b.ids.subscriber[0]}`, { channels: [channel()] }),
        MARKETING,
        'update with A channel',
      );
      refused(
        await intruder.put(`/api/v1/subscribers/${b.ids.subscriber[0]}`, { customerFields: { [field()]: 'v' } }),
        MARKETING,
        'update with A field',
      );
      refused(
        await intruder.post('/api/v1/subscribers/register', { email: 'x3@bravo.example', channelId: channel() }),
        MARKETING,
        'register to A channel',
      );
      refused(
        await intruder.post(`/api/v1/subscribers/${b.ids.subscriber[0]}/unsubscribe`, { channelId: channel() }),
        MARKETING,
        'unsubscribe from A channel',
      );
      const bulk = await intruder.post('/api/v1/subscribers/bulk', {
        subscribers: [
          { email: 'x4@bravo.example', channels: [channel()] },
          { email: 'x5@bravo.example', customerFields: { [field()]: 'v' } },
        ],
      });
      expect(bulk.status, bulk.text).toBeLessThan(300);
      expect(bulk.body.data.map((r: { status: string }) => r.status)).toEqual(['error', 'error']);
      const csv = await intruder.request('POST', '/api/v1/subscribers/import', {
        rawBody: `email,customerFields.${field()}\nx6@bravo.example,v\n`,
        headers: { 'content-type': 'text/csv' },
      });
      refused(csv, MARKETING, 'import with A field column');
    });

    it("cannot filter or build dynamic groups over A's customer field", async () => {
      const q = encodeURIComponent(JSON.stringify([{ [`customerFields.${field()}`]: 'alpha-private value' }]));
      refused(await intruder.get(`/api/v1/subscribers?search=${q}`), MARKETING, 'search by A field');
      refused(
        await intruder.post('/api/v1/subscriberGroups', {
          name: 'spy',
          type: 2,
          conditions: [{ [`customerFields.${field()}`]: 'x' }],
        }),
        MARKETING,
        'dynamic group on A field',
      );
    });

    it("cannot put A's subscribers into its own group, by id or by email", async () => {
      const own = b.ids.group[0]!;
      const byId = await intruder.post(`/api/v1/subscriberGroups/${own}/subscribers`, {
        subscriberIds: [subscriber()],
      });
      // Unknown ids are reported in the answer rather than refused (the route's contract).
      if (byId.status < 300) expect(byId.text).not.toContain(a.tag);
      else refused(byId, MARKETING, 'add A subscriber by id');
      const byEmail = await intruder.post(`/api/v1/subscriberGroups/${own}/subscribers`, {
        emails: [a.subscriberEmail],
      });
      if (byEmail.status >= 300) refused(byEmail, MARKETING, 'add A subscriber by email');
      const members = await intruder.get(`/api/v1/subscriberGroups/${own}/subscribers?limit=1000`);
      expect(members.status).toBe(200);
      expect(members.body.data.map((m: { id: number }) => m.id)).not.toContain(subscriber());
      expect(members.text).not.toContain(a.tag);
    });

    it("cannot aim its mailings at A's channel, groups or template, or preview them with A's subscriber", async () => {
      const base = { name: 'spy mailing', subject: 's', html: '<p>x</p>' };
      refused(
        await intruder.post('/api/v1/mailings', { ...base, channelId: channel() }),
        MARKETING,
        'mailing on A channel',
      );
      refused(
        await intruder.post('/api/v1/mailings', { ...base, subscriberGroupIds: [group()] }),
        MARKETING,
        'mailing to A group',
      );
      refused(
        await intruder.post('/api/v1/mailings', { ...base, templateId: a.ids.template[0] }),
        MARKETING,
        'mailing with A template',
      );
      const own = b.ids.mailing[0]!;
      refused(
        await intruder.put(`/api/v1/mailings/${own}`, { channelId: channel() }),
        MARKETING,
        'move mailing to A channel',
      );
      refused(
        await intruder.put(`/api/v1/mailings/${own}`, { subscriberGroupIds: [group()] }),
        MARKETING,
        'target A group',
      );
      refused(
        await intruder.get(`/api/v1/mailings/${own}/preview?subscriberId=${subscriber()}`),
        MARKETING,
        'preview with A subscriber',
      );
    });

    it("cannot send with A's template or find A's messages by transmission", async () => {
      refused(
        await intruder.post('/v1/layang/transmissions', {
          from: { email: 'x@bravo-own.example' },
          to: [{ email: 'y@example.org' }],
          templateId: a.ids.template[0],
        }),
        TRANSACTIONAL,
        'send with A template',
      );
      const messages = await intruder.get(`/v1/messages?transmissionId=${a.ids.transmission[0]}`);
      expect(messages.status).toBe(200);
      expect(messages.body).toMatchObject({ count: 0, data: [] });
    });

    it("learns nothing from A's unique values: the same email, group name and blacklist entry are its own", async () => {
      const same = await intruder.post('/api/v1/subscribers', { email: a.subscriberEmail });
      expect(same.status, same.text).toBe(201); // 409 would tell B that A has this subscriber
      expect(String(same.body.data.id)).not.toBe(a.ids.subscriber[0]);
      expect((await intruder.post('/api/v1/subscriberGroups', { name: a.groupName, type: 1 })).status).toBe(201);
      // B's blacklist archives B's own subscribers only (A's must stay ready: checked below).
      const blocked = await intruder.post('/api/v1/blacklist', { pattern: a.subscriberEmail });
      expect(blocked.status, blocked.text).toBe(201);
      expect(blocked.body.meta.archivedSubscribers).toBe(1); // B's own copy made just above
    });
  });

  it('A reads every resource back exactly as before the walk', async () => {
    const after = await readAll(server.api, routes, a);
    const changed: string[] = [];
    for (const [path, read] of before) {
      try {
        expect(after.get(path)).toEqual(read);
      } catch {
        changed.push(
          `GET ${path}\n  before: ${JSON.stringify(read).slice(0, 600)}\n  after:  ${JSON.stringify(after.get(path)).slice(0, 600)}`,
        );
      }
    }
    expect(changed, changed.join('\n')).toEqual([]);
  });
});
