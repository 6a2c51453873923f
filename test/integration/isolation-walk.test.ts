// Isolation, walked over every route: account A owns one of every resource; account B calls every
// route that takes an id with A's ids (and, where a route takes two ids, with mixes of its own and
// A's), then refers to A's ids inside bodies and queries of its own requests. Nothing may answer
// 2xx, every refusal speaks its surface's dialect, B's own reads never show A's data, and A's
// resources read back exactly as before. The routes come from the running server, so a route added
// later is walked too; one whose parameter the walker cannot fill fails the test until it is taught.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { createAccountResources, type AccountResources, type IdKind } from '../helpers/account-resources.ts';
import { fillPath, listRoutes, pathParams, segmentBefore, type RouteInfo } from '../helpers/route-list.ts';

const MARKETING = '/api/v1';
const TRANSACTIONAL = '/v1';
const surfaceOf = (url: string) => (url.startsWith(MARKETING + '/') ? MARKETING : TRANSACTIONAL);

/** Which of an account's ids a path parameter takes: by surface and the segment before it. */
const ID_KINDS: Record<string, IdKind> = {
  [`${MARKETING} channels`]: 'channel',
  [`${MARKETING} customerFields`]: 'customerField',
  [`${MARKETING} subscribers`]: 'subscriber',
  [`${MARKETING} subscriberGroups`]: 'group',
  [`${MARKETING} blacklist`]: 'blacklist',
  [`${MARKETING} jobs`]: 'job',
  [`${MARKETING} mailings`]: 'mailing',
  [`${MARKETING} webhooks`]: 'marketingWebhook',
  [`${MARKETING} triggerTypes`]: 'triggerKey',
  [`${TRANSACTIONAL} sending`]: 'domain',
  [`${TRANSACTIONAL} template`]: 'template',
  [`${TRANSACTIONAL} transmission`]: 'transmission',
  [`${TRANSACTIONAL} messages`]: 'message',
  [`${TRANSACTIONAL} webhooks`]: 'transactionalWebhook',
  [`${TRANSACTIONAL} suppressions`]: 'suppression',
};

/** Routes with a path parameter that is not an account's id (the API documentation's static files). */
const NO_ACCOUNT_ID = [/^\/(api\/)?v1\/documentation\b/];

/** Routes that belong to no account and hold nothing of one: not read back, not checked for leaks. */
const NOT_ACCOUNT_DATA = [
  /^\/(api\/)?v1\/documentation\b/,
  /^\/(api\/)?v1\/openapi\.json$/,
  /^\/v1\/webhook-events$/,
  /^\/api\/v1\/webhookEvents$/,
  /^\/v1\/permission$/,
];

/**
 * A body that the owner's own call would accept, per route, so that only ownership can refuse
 * B's call (a body that fails validation would be refused before the id is looked at). Routes
 * that take no body, or only optional fields, get `{}`.
 */
const VALID_BODIES: Record<string, (a: AccountResources) => unknown> = {
  [`PUT ${MARKETING}/channels/:id`]: () => ({ name: 'taken over' }),
  [`PUT ${MARKETING}/customerFields/:id`]: () => ({ isEditable: false, translations: { en: { name: 'taken over' } } }),
  [`PUT ${MARKETING}/subscribers/:id`]: () => ({ firstname: 'taken over', email: 'taken-over@example.com' }),
  // {} (from every channel): a channelId names a channel of the caller's account, so A's channel
  // would be refused as invalid (422) before the subscriber is looked up.
  [`POST ${MARKETING}/subscribers/:id/unsubscribe`]: () => ({}),
  [`PUT ${MARKETING}/subscriberGroups/:id`]: () => ({ name: 'taken over' }),
  [`POST ${MARKETING}/subscriberGroups/:id/subscribers`]: (a) => ({ subscriberIds: a.ids.subscriber.map(Number) }),
  [`DELETE ${MARKETING}/subscriberGroups/:id/subscribers`]: (a) => ({ subscriberIds: a.ids.subscriber.map(Number) }),
  [`PUT ${MARKETING}/mailings/:id`]: () => ({ name: 'taken over', subject: 'taken over' }),
  [`POST ${MARKETING}/mailings/:id/schedule`]: () => ({ scheduledAt: '2099-01-01 00:00:00' }),
  [`POST ${MARKETING}/mailings/:id/test`]: () => ({ emails: ['intruder@example.net'] }),
  [`PUT ${MARKETING}/webhooks/:id`]: () => ({ name: 'taken over', active: true }),
  [`POST ${MARKETING}/triggerTypes/:key/send`]: (a) => ({ email: a.subscriberEmail, data: { x: 1 } }),
  [`PUT ${TRANSACTIONAL}/template/:id`]: () => ({ name: 'taken over', html: '<p>taken over</p>' }),
  [`POST ${TRANSACTIONAL}/template/:id/preview`]: () => ({ substitutionData: { name: 'x' } }),
  [`PUT ${TRANSACTIONAL}/webhooks/:id`]: () => ({ name: 'taken over', active: true }),
};

/** Query strings a read needs to be answered at all (required parameters). */
const READ_QUERIES: Record<string, string> = {
  [`${TRANSACTIONAL}/analytic/summary/breakdown`]: '?groupBy=DAY',
  [`${TRANSACTIONAL}/suppressions/lookup`]: '?email=nobody@example.org',
};

/** Where a route's contract answers a foreign id with something other than 404 (none so far). */
const EXPECTED_STATUS: Record<string, number[]> = {};

const routeKey = (r: RouteInfo) => `${r.method} ${r.url}`;
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'DELETE']; // reads first, so a leaking DELETE cannot hide a leaking read

function cartesian<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((x) => [...prefix, x])), [[]]);
}

/** Problems with a refusal: wrong status, or a body not in the surface's error dialect. */
function refusalProblems(res: ApiResponse, surface: string, allowed: number[]): string[] {
  const problems: string[] = [];
  if (res.status >= 200 && res.status < 300) return [`answered ${res.status} (2xx): ${res.text.slice(0, 300)}`];
  if (!allowed.includes(res.status))
    problems.push(`status ${res.status}, expected ${allowed.join(' or ')}: ${res.text.slice(0, 300)}`);
  const body = res.body;
  if (surface === MARKETING) {
    const ok =
      body &&
      body.status === 'error' &&
      typeof body.code === 'number' &&
      typeof body.message === 'string' &&
      'errors' in body &&
      body.statusCode === res.status;
    if (!ok) problems.push(`not the marketing error dialect: ${res.text.slice(0, 300)}`);
    else if (res.status === 404 && body.code !== 1020) problems.push(`404 with code ${body.code}, expected 1020`);
  } else {
    const error = Array.isArray(body?.errors) && body.errors.length > 0 ? body.errors[0] : null;
    const ok =
      error &&
      typeof error.message === 'string' &&
      typeof error.description === 'string' &&
      typeof error.code === 'string';
    if (!ok) problems.push(`not the transactional error dialect: ${res.text.slice(0, 300)}`);
    else if (res.status === 404 && error.code !== '1600') problems.push(`404 with code ${error.code}, expected 1600`);
  }
  return problems;
}

/** Drops values that change on their own (key use times), so two reads can be compared. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'lastUsedAt')
        .map(([k, v]) => [k, stable(v)]),
    );
  return value;
}

describe(`isolation walk over every route (${dialectName})`, () => {
  let server: TestServer;
  let routes: RouteInfo[];
  let a: AccountResources; // the owner
  let b: AccountResources; // the intruder's own resources
  let intruder: ApiClient;
  const before = new Map<string, { status: number; body: unknown }>();

  const kindOf = (url: string, param: string): IdKind | undefined =>
    ID_KINDS[`${surfaceOf(url)} ${segmentBefore(url, param)}`];
  const isApiRoute = (r: RouteInfo) =>
    r.method !== 'HEAD' && (r.url.startsWith(MARKETING + '/') || r.url.startsWith(TRANSACTIONAL + '/'));

  /** GET paths of every route with its parameters filled from one account's ids (all combinations). */
  function readPaths(owner: AccountResources): string[] {
    const paths: string[] = [];
    for (const route of routes.filter(
      (r) => isApiRoute(r) && r.method === 'GET' && !NOT_ACCOUNT_DATA.some((re) => re.test(r.url)),
    )) {
      const params = pathParams(route.url);
      const kinds = params.map((p) => kindOf(route.url, p));
      if (kinds.some((k) => !k)) continue; // the walk reports it
      for (const ids of cartesian(kinds.map((k) => owner.ids[k!])))
        paths.push(fillPath(route.url, ids) + (READ_QUERIES[route.url] ?? ''));
    }
    return paths;
  }

  async function readAll(api: ApiClient, owner: AccountResources) {
    const result = new Map<string, { status: number; body: unknown }>();
    for (const path of readPaths(owner)) {
      const res = await api.get(path);
      result.set(path, { status: res.status, body: stable(res.body) });
    }
    return result;
  }

  beforeAll(async () => {
    server = await startTestServer({
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
      POSTHORN_RATE_LIMIT_PER_MINUTE: '1000000',
      POSTHORN_CONCURRENCY_LIMIT: '1000',
    });
    routes = listRoutes(server.app.http!);
    const other = await server.newAccount();
    intruder = other.api;
    // An address nothing listens on: the webhooks are inactive and never called.
    a = await createAccountResources(server.api, 'alpha-private', 'http://127.0.0.1:9/hook');
    b = await createAccountResources(intruder, 'bravo-own', 'http://127.0.0.1:9/hook');
    for (const [path, read] of await readAll(server.api, a)) before.set(path, read);
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
    const problems: string[] = [];
    let calls = 0;
    const walkable = routes
      .filter((r) => isApiRoute(r) && pathParams(r.url).length > 0 && !NO_ACCOUNT_ID.some((re) => re.test(r.url)))
      .sort((x, y) => METHOD_ORDER.indexOf(x.method) - METHOD_ORDER.indexOf(y.method));
    for (const route of walkable) {
      const params = pathParams(route.url);
      const kinds = params.map((p) => kindOf(route.url, p));
      const unknown = params.filter((_, i) => !kinds[i]);
      if (unknown.length > 0) {
        problems.push(
          `${routeKey(route)}: the walker does not know which id ${unknown.map((p) => `:${p}`).join(', ')} takes; add it to ID_KINDS (or NO_ACCOUNT_ID)`,
        );
        continue;
      }
      if (kinds.some((k) => a.ids[k!].length === 0)) {
        problems.push(
          `${routeKey(route)}: account A has no ${kinds.filter((k) => a.ids[k!].length === 0).join(', ')} to try; create one in test/helpers/account-resources.ts`,
        );
        continue;
      }
      // Every parameter with A's ids; with two or more parameters also B's own id in some places
      // (its first of the kind: a static group, which takes members by hand).
      const choices = kinds.map((k) => [
        ...a.ids[k!].map((id) => ({ id, foreign: true })),
        ...(params.length > 1 ? [{ id: b.ids[k!][0]!, foreign: false }] : []),
      ]);
      const combos = cartesian(choices).filter((combo) => combo.some((c) => c.foreign));
      const valid = VALID_BODIES[routeKey(route)];
      const bodies: Array<{ body: unknown; strict: boolean }> =
        route.method === 'GET'
          ? [{ body: undefined, strict: true }]
          : valid
            ? [
                { body: valid(a), strict: true },
                { body: route.method === 'DELETE' ? undefined : {}, strict: false },
              ]
            : [{ body: route.method === 'DELETE' ? undefined : {}, strict: true }];
      for (const combo of combos) {
        const path = fillPath(
          route.url,
          combo.map((c) => c.id),
        );
        for (const { body, strict } of bodies) {
          const res = await intruder.request(route.method, path, body === undefined ? {} : { body });
          calls++;
          // A valid body must meet the ownership check; an empty one may be refused as invalid first.
          const allowed = EXPECTED_STATUS[routeKey(route)] ?? (strict ? [404] : [404, 422]);
          for (const problem of refusalProblems(res, surfaceOf(route.url), allowed)) {
            problems.push(
              `${route.method} ${path} (${routeKey(route)}, body ${JSON.stringify(body) ?? 'none'}): ${problem}`,
            );
          }
          if (res.text.includes(a.tag))
            problems.push(`${route.method} ${path}: the answer shows A's data: ${res.text.slice(0, 300)}`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(calls).toBeGreaterThan(50);
  });

  // Before the cases below, which give B its own copies of A's unique values on purpose.
  it("B's own reads (lists, and routes filled with B's ids) never show A's data", async () => {
    const problems: string[] = [];
    const foreignStrings = Object.values(a.ids)
      .flat()
      .filter((id) => !/^\d+$/.test(id)); // numeric ids could match anything
    for (const path of readPaths(b)) {
      const res = await intruder.get(path);
      if (res.status !== 200) problems.push(`GET ${path} → ${res.status}: ${res.text.slice(0, 200)}`);
      if (res.text.includes(a.tag)) problems.push(`GET ${path} shows A's tag: ${res.text.slice(0, 300)}`);
      for (const id of foreignStrings) if (res.text.includes(id)) problems.push(`GET ${path} shows A's id ${id}`);
      // A marketing list of one kind must not hold A's id of that kind.
      const kind = ID_KINDS[`${surfaceOf(path)} ${path.split('?')[0]!.split('/').pop()}`];
      if (kind && Array.isArray(res.body?.data)) {
        const listed = res.body.data.map((item: { id?: unknown }) => String(item.id));
        for (const id of a.ids[kind]) if (listed.includes(id)) problems.push(`GET ${path} lists A's ${kind} ${id}`);
      }
    }
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
    const after = await readAll(server.api, a);
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
