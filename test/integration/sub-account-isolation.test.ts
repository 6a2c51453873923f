// Isolation between sub-accounts, walked over every route (the walker of isolation-walk.test.ts):
// a parent with two sub-accounts, each holding one of every resource. A sibling's key calls every
// route with the other's ids and never gets a 2xx; a key naming a sub-account that is not its own
// in X-MT-ATTR (a sibling's key naming its sibling, a sub-account's key naming its parent, another
// company's key naming either) is refused on every route; the sibling's own reads never show the
// other's data; and the parent reaches a sub-account's data only by naming it in X-MT-ATTR.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { createAccountResources, type AccountResources } from '../helpers/account-resources.ts';
import type { RouteInfo } from '../helpers/route-list.ts';
import {
  startWalkServer,
  NOT_ACCOUNT_DATA,
  READ_QUERIES,
  isApiRoute,
  ownReadProblems,
  readAll,
  refusalProblems,
  surfaceOf,
  walkForeignIds,
} from '../helpers/isolation-walker.ts';

/** Sub-accounts have no sub-accounts: those routes refuse a sub-account's key as such (403). */
const SUB_ACCOUNT_ROUTES = /^\/v1\/sub-account\b/;

/** An API client whose every request carries X-MT-ATTR. */
class ActingClient extends ApiClient {
  constructor(
    base: ApiClient,
    readonly subAccountId: number,
  ) {
    super(base.baseUrl, base.key);
  }
  override request<T = any>(method: string, path: string, opts: Parameters<ApiClient['request']>[2] = {}) {
    return super.request<T>(method, path, {
      ...opts,
      headers: { ...(opts.headers ?? {}), 'X-MT-ATTR': String(this.subAccountId) },
    });
  }
}

describe(`isolation between sub-accounts (${dialectName})`, () => {
  let server: TestServer;
  let routes: RouteInfo[];
  let parent: ApiClient;
  let parentIntId: number;
  let one: { id: number; api: ApiClient; resources: AccountResources };
  let two: { id: number; api: ApiClient; resources: AccountResources };
  let before: Map<string, { status: number; body: unknown }>;

  beforeAll(async () => {
    ({ server, routes } = await startWalkServer());
    const company = await server.newAccount();
    parent = company.api;
    parentIntId = company.accountIntId;
    const made = [];
    for (const name of ['sub-one', 'sub-two']) {
      const res = await parent.post('/v1/sub-account', { name: `${name} account`, createApiKey: true });
      expect(res.status, res.text).toBe(200);
      made.push({ id: res.body.id as number, api: new ApiClient(server.url, res.body.apiKeys[0].key) });
    }
    // An address nothing listens on: the webhooks are inactive and never called.
    const hook = 'http://127.0.0.1:9/hook';
    one = {
      ...made[0]!,
      resources: await createAccountResources(made[0]!.api, 'one-private', hook, {
        subAccounts: false,
        inboundPort: server.app.inbound!.port,
      }),
    };
    two = {
      ...made[1]!,
      resources: await createAccountResources(made[1]!.api, 'two-own', hook, {
        subAccounts: false,
        inboundPort: server.app.inbound!.port,
      }),
    };
    before = await readAll(one.api, routes, one.resources);
  }, 180_000);
  afterAll(async () => server?.close());

  const notSubAccountRoute = (r: RouteInfo) => SUB_ACCOUNT_ROUTES.test(r.url);

  it("a sibling's key gets a refusal on every route with the other's ids, never a 2xx", async () => {
    const { problems, calls } = await walkForeignIds(routes, one.resources, two.resources, two.api, {
      skip: notSubAccountRoute,
    });
    expect(problems, problems.join('\n')).toEqual([]);
    expect(calls).toBeGreaterThan(50);
  });

  it("a sibling's own reads never show the other's data", async () => {
    const problems = await ownReadProblems(
      routes.filter((r) => !notSubAccountRoute(r)),
      one.resources,
      two.resources,
      two.api,
    );
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('X-MT-ATTR naming a sub-account not the key’s own is 404 on every route, in the dialect', async () => {
    const stranger = (await server.newAccount()).api;
    const callers: Array<[string, ApiClient]> = [
      ['sibling naming its sibling', new ActingClient(two.api, one.id)],
      ['sub-account naming its parent', new ActingClient(one.api, parentIntId)],
      ['another company naming a sub-account', new ActingClient(stranger, one.id)],
      ['another company naming the parent', new ActingClient(stranger, parentIntId)],
    ];
    const problems: string[] = [];
    let calls = 0;
    for (const route of routes.filter((r) => isApiRoute(r) && !NOT_ACCOUNT_DATA.some((re) => re.test(r.url)))) {
      // Every path parameter filled with the victim's first id of its kind (or a dummy): the
      // header alone must refuse the request, before any id is looked at.
      const path = route.url.replace(/:[A-Za-z0-9_]+/g, '1') + (READ_QUERIES[route.url] ?? '');
      for (const [who, api] of callers) {
        const res = await api.request(route.method, path, route.method === 'GET' ? {} : { body: {} });
        calls++;
        for (const p of refusalProblems(res, surfaceOf(route.url), [404]))
          problems.push(`${who}: ${route.method} ${path}: ${p}`);
        if (res.text.includes(one.resources.tag)) problems.push(`${who}: ${route.method} ${path} shows the data`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(calls).toBeGreaterThan(100);
  });

  it('the parent sees a sub-account’s data only by naming it in X-MT-ATTR', async () => {
    // Lists answer with the parent's own data, reads by id are not found: nothing of the sub-account's
    // shows, but for its API keys (a parent manages its sub-accounts' keys, as the contract's
    // GET /api-key with subAccountId has it).
    for (const [path, r] of await readAll(parent, routes, one.resources))
      if (!path.startsWith('/v1/api-key'))
        expect(JSON.stringify(r.body), `GET ${path} as the parent`).not.toContain(one.resources.tag);

    // Naming it, the parent reads exactly what the sub-account's own key reads (but for the
    // calling key's own description in GET /v1/account).
    const acting = await readAll(new ActingClient(parent, one.id), routes, one.resources);
    const different = [...before]
      .filter(([path]) => path !== '/v1/account')
      .filter(([path, r]) => JSON.stringify(acting.get(path)) !== JSON.stringify(r))
      .map(
        ([path, r]) =>
          `GET ${path}\n  own key: ${JSON.stringify(r).slice(0, 300)}` +
          `\n  parent:  ${JSON.stringify(acting.get(path)).slice(0, 300)}`,
      );
    expect(different, different.join('\n')).toEqual([]);
  });

  it("the walk changed nothing of the sub-account's data", async () => {
    const after = await readAll(one.api, routes, one.resources);
    const changed = [...before]
      .filter(([path, r]) => JSON.stringify(after.get(path)) !== JSON.stringify(r))
      .map(([path]) => path);
    expect(changed, changed.join('\n')).toEqual([]);
  });
});
