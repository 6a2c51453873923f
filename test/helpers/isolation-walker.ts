// The isolation walk, shared by the walk between two accounts (isolation-walk.test.ts) and the
// walk between sibling sub-accounts (sub-account-isolation.test.ts): one account owns one of every
// resource; an intruder calls every route that takes an id with the owner's ids (and, where a
// route takes two ids, with mixes of its own and the owner's). Nothing may answer 2xx, every
// refusal speaks its surface's dialect, and the intruder's own reads never show the owner's data.
// The routes come from the running server, so a route added later is walked too; one whose
// parameter the walker cannot fill is reported until it is taught.
import { startTestServer, type ApiClient, type ApiResponse, type TestServer } from './server.ts';
import type { AccountResources, IdKind } from './account-resources.ts';
import { fillPath, listRoutes, pathParams, segmentBefore, type RouteInfo } from './route-list.ts';

export const MARKETING = '/api/v1';
export const TRANSACTIONAL = '/v1';
export const surfaceOf = (url: string) => (url.startsWith(MARKETING + '/') ? MARKETING : TRANSACTIONAL);

/**
 * The server a walk runs against, and its routes: webhooks may name a private address, the rate and
 * concurrency limits do not throttle the walk's thousands of calls, and the inbound receiver runs
 * (its routes are walked too).
 */
export async function startWalkServer(): Promise<{ server: TestServer; routes: RouteInfo[] }> {
  const server = await startTestServer(
    {
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
      POSTHORN_RATE_LIMIT_PER_MINUTE: '1000000',
      POSTHORN_CONCURRENCY_LIMIT: '1000',
    },
    { inbound: true },
  );
  return { server, routes: listRoutes(server.app.http!) };
}

/** Which of an account's ids a path parameter takes: by surface and the segment before it. */
export const ID_KINDS: Record<string, IdKind> = {
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
  [`${TRANSACTIONAL} api-key`]: 'apiKey',
  [`${TRANSACTIONAL} sub-account`]: 'subAccount',
  [`${TRANSACTIONAL} inbound`]: 'inboundReport',
  [`${TRANSACTIONAL} recipients`]: 'sandboxRecipient',
};

/** Routes with a path parameter that is not an account's id (the API documentation's static files). */
export const NO_ACCOUNT_ID = [/^\/(api\/)?v1\/documentation\b/];

/** Routes that belong to no account and hold nothing of one: not read back, not checked for leaks. */
export const NOT_ACCOUNT_DATA = [
  /^\/(api\/)?v1\/documentation\b/,
  /^\/(api\/)?v1\/openapi\.json$/,
  /^\/v1\/webhook-events$/,
  /^\/api\/v1\/webhookEvents$/,
  /^\/v1\/permission$/,
];

/**
 * A body that the owner's own call would accept, per route, so that only ownership can refuse
 * the intruder's call (a body that fails validation would be refused before the id is looked at).
 * Routes that take no body, or only optional fields, get `{}`.
 */
export const VALID_BODIES: Record<string, (a: AccountResources) => unknown> = {
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
  [`PUT ${TRANSACTIONAL}/api-key/:id`]: () => ({ name: 'taken over', allowedIp: '192.0.2.1' }),
  [`PUT ${TRANSACTIONAL}/sub-account/:id`]: () => ({ name: 'taken over', status: 'Suspended' }),
};

/** Query strings a read needs to be answered at all (required parameters). */
export const READ_QUERIES: Record<string, string> = {
  [`${TRANSACTIONAL}/analytic/summary/breakdown`]: '?groupBy=DAY',
  [`${TRANSACTIONAL}/suppressions/lookup`]: '?email=nobody@example.org',
};

/** Where a route's contract answers a foreign id with something other than 404 (none so far). */
const EXPECTED_STATUS: Record<string, number[]> = {};

export const routeKey = (r: RouteInfo) => `${r.method} ${r.url}`;
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'DELETE']; // reads first, so a leaking DELETE cannot hide a leaking read

export function cartesian<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((x) => [...prefix, x])), [[]]);
}

export const kindOf = (url: string, param: string): IdKind | undefined =>
  ID_KINDS[`${surfaceOf(url)} ${segmentBefore(url, param)}`];

export const isApiRoute = (r: RouteInfo) =>
  r.method !== 'HEAD' && (r.url.startsWith(MARKETING + '/') || r.url.startsWith(TRANSACTIONAL + '/'));

/** Problems with a refusal: wrong status, or a body not in the surface's error dialect. */
export function refusalProblems(res: ApiResponse, surface: string, allowed: number[]): string[] {
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
      typeof error.code === 'string' &&
      typeof body.message === 'string';
    if (!ok) problems.push(`not the transactional error dialect: ${res.text.slice(0, 300)}`);
    else if (res.status === 404 && error.code !== '1600') problems.push(`404 with code ${error.code}, expected 1600`);
  }
  return problems;
}

/**
 * Values that change on their own: key use times, and the "now" figures of GET /v1/metrics/now
 * (rates over the last minute, the time they were read; its queue depth is still compared).
 */
const CHANGING_ON_THEIR_OWN = new Set(['lastUsedAt', 'acceptedPerSecond', 'deliveredPerSecond', 'at']);

/** Drops values that change on their own, so two reads can be compared. */
export function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !CHANGING_ON_THEIR_OWN.has(k))
        .map(([k, v]) => [k, stable(v)]),
    );
  return value;
}

/** GET paths of every route with its parameters filled from one account's ids (all combinations). */
export function readPaths(routes: RouteInfo[], owner: AccountResources): string[] {
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

export async function readAll(api: ApiClient, routes: RouteInfo[], owner: AccountResources) {
  const result = new Map<string, { status: number; body: unknown }>();
  for (const path of readPaths(routes, owner)) {
    const res = await api.get(path);
    result.set(path, { status: res.status, body: stable(res.body) });
  }
  return result;
}

/**
 * Calls every route that takes an id with the owner's (`a`) ids as the intruder, whose own
 * resources are `b`; returns what went wrong and how many calls were made.
 */
export async function walkForeignIds(
  routes: RouteInfo[],
  a: AccountResources,
  b: AccountResources,
  intruder: ApiClient,
  opts: { skip?: (route: RouteInfo) => boolean } = {},
): Promise<{ problems: string[]; calls: number }> {
  const problems: string[] = [];
  let calls = 0;
  const walkable = routes
    .filter(
      (r) =>
        isApiRoute(r) && pathParams(r.url).length > 0 && !NO_ACCOUNT_ID.some((re) => re.test(r.url)) && !opts.skip?.(r),
    )
    .sort((x, y) => METHOD_ORDER.indexOf(x.method) - METHOD_ORDER.indexOf(y.method));
  for (const route of walkable) {
    const params = pathParams(route.url);
    const kinds = params.map((p) => kindOf(route.url, p));
    const unknown = params.filter((_, i) => !kinds[i]);
    if (unknown.length > 0) {
      problems.push(
        `${routeKey(route)}: the walker does not know which id ${unknown.map((p) => `:${p}`).join(', ')} takes; ` +
          'add it to ID_KINDS (or NO_ACCOUNT_ID)',
      );
      continue;
    }
    if (kinds.some((k) => a.ids[k!].length === 0)) {
      problems.push(
        `${routeKey(route)}: account A has no ${kinds.filter((k) => a.ids[k!].length === 0).join(', ')} to try; ` +
          'create one in test/helpers/account-resources.ts',
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
  return { problems, calls };
}

/** The intruder's own reads (lists, and routes filled with its own ids): what of A's data they show. */
export async function ownReadProblems(
  routes: RouteInfo[],
  a: AccountResources,
  b: AccountResources,
  intruder: ApiClient,
): Promise<string[]> {
  const problems: string[] = [];
  const foreignStrings = Object.values(a.ids)
    .flat()
    .filter((id) => !/^\d+$/.test(id)); // numeric ids could match anything
  for (const path of readPaths(routes, b)) {
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
  return problems;
}
