// Subscriber groups: static, dynamic and external groups, their members and subscriberCount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import {
  DATE_TIME,
  basicAuth,
  bulkSubscribers,
  createSubscriber,
  eraseSubscriber,
  expectError,
  expectNotFound,
  expectValidation,
  search,
  updateSubscriber,
} from '../helpers/marketing-fixtures.ts';

const LOCKED =
  'The members of a dynamic subscriber group come from its conditions and cannot be added or removed by hand.';

describe(`marketing subscriber groups (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const fresh = async (): Promise<ApiClient> => (await server.newAccount()).api;
  const group = async (api: ApiClient, body: Record<string, unknown>) => {
    const res = await api.post('/api/v1/subscriberGroups', body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  };
  const count = async (api: ApiClient, id: number) =>
    (await api.get(`/api/v1/subscriberGroups/${id}`)).body.data.subscriberCount as number;
  const memberIds = async (api: ApiClient, id: number, query = '') => {
    const res = await api.get(`/api/v1/subscriberGroups/${id}/subscribers?limit=1000${query}`);
    expect(res.status, res.text).toBe(200);
    return (res.body.data as any[]).map((s) => s.id);
  };

  it('creates, reads, renames, lists and deletes a static group', async () => {
    const api = await fresh();
    const created = await api.post(
      '/api/v1/subscriberGroups',
      { name: ' Customers ', type: 1 },
      { auth: basicAuth(api.key!) },
    );
    expect(created.status).toBe(201);
    const g = created.body.data;
    expect(created.body).toEqual({
      data: {
        objectType: 'SubscriberGroup',
        id: expect.any(Number),
        name: 'Customers',
        type: 1,
        conditions: null,
        canEdit: true,
        canDelete: true,
        canAssignSubscribers: true,
        subscriberCount: 0,
        createdAt: expect.stringMatching(DATE_TIME),
        updatedAt: g.createdAt,
      },
    });
    expect((await api.get(`/api/v1/subscriberGroups/${g.id}`)).body).toEqual(created.body);

    const renamed = await api.put(`/api/v1/subscriberGroups/${g.id}`, { name: 'Clients', type: 1 });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data).toEqual({ ...g, name: 'Clients', updatedAt: expect.stringMatching(DATE_TIME) });

    const b = await group(api, { name: 'Beta', type: 1 });
    const c = await group(api, { name: 'Alpha', type: 3 });
    const list = await api.get('/api/v1/subscriberGroups?limit=2');
    expect(list.status).toBe(200);
    expect(list.body.data.map((x: any) => x.id)).toEqual([g.id, b.id]);
    expect(list.body.data[0]).toEqual(renamed.body.data);
    expect(list.body.meta.pagination).toEqual({
      total: 3,
      count: 2,
      perPage: 2,
      currentPage: 1,
      totalPages: 2,
      links: { next: expect.stringMatching(/\/api\/v1\/subscriberGroups\?limit=2&page=2$/), previous: '' },
    });
    const byName = await api.get(`/api/v1/subscriberGroups?sorting=${search([{ name: 'asc' }])}`);
    expect(byName.body.data.map((x: any) => x.name)).toEqual(['Alpha', 'Beta', 'Clients']);
    const filtered = await api.get(
      `/api/v1/subscriberGroups?search=${search([{ name: { condition: 'like', value: '%ta' } }, { type: [1, 2] }])}`,
    );
    expect(filtered.body.data.map((x: any) => x.id)).toEqual([b.id]);
    expect(
      (await api.get(`/api/v1/subscriberGroups?search=${search([{ type: 3 }])}`)).body.data.map((x: any) => x.id),
    ).toEqual([c.id]);
    expectValidation(await api.get(`/api/v1/subscriberGroups?search=${search([{ conditions: 'x' }])}`), {
      search: [
        "search[0].conditions: 'conditions' is not a filterable field. Filterable fields: id, name, type, createdAt, updatedAt.",
      ],
    });

    const deleted = await api.delete(`/api/v1/subscriberGroups/${g.id}`);
    expect(deleted.status).toBe(204);
    expectNotFound(await api.get(`/api/v1/subscriberGroups/${g.id}`), 'Subscriber group not found');
    expectNotFound(await api.delete(`/api/v1/subscriberGroups/${g.id}`), 'Subscriber group not found');
    expectNotFound(await api.get('/api/v1/subscriberGroups/0'), 'Subscriber group not found');
  });

  it('names are unique per account (409/1024, the seed’s body)', async () => {
    const api = await fresh();
    const first = await group(api, { name: 'VIP', type: 1 });
    const other = await group(api, { name: 'Other', type: 1 });
    const taken = {
      status: 'error',
      code: 1024,
      message: 'The resource is already existing.',
      errors: [],
      statusCode: 409,
    };
    const dup = await api.post('/api/v1/subscriberGroups', { name: 'VIP', type: 2, conditions: [{ status: 1 }] });
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual(taken);
    const rename = await api.put(`/api/v1/subscriberGroups/${other.id}`, { name: 'VIP' });
    expect(rename.status).toBe(409);
    expect(rename.body).toEqual(taken);
    expect((await api.put(`/api/v1/subscriberGroups/${first.id}`, { name: 'VIP' })).status).toBe(200);
    // Another account may use the same name.
    await group(await fresh(), { name: 'VIP', type: 1 });
  });

  it('validates groups', async () => {
    const api = await fresh();
    expectValidation(await api.post('/api/v1/subscriberGroups', { type: 1 }), {
      name: ['The name field is required.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x' }), {
      type: ['The type field is required.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 4 }), {
      type: ['The selected type is invalid.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: '  ', type: 1 }), {
      name: ['The name field is required.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2 }), {
      conditions: ['The conditions field is required.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2, conditions: [] }), {
      conditions: ['The conditions must have at least one condition.'],
    });
    expectValidation(
      await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2, conditions: [{ shoeSize: 42 }] }),
      {
        conditions: [
          expect.stringMatching(
            /^conditions\[0\]\.shoeSize: 'shoeSize' is not a filterable field\. Filterable fields: id, email, /,
          ),
        ],
      },
    );
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2, conditions: '[{"status":' }), {
      conditions: ['conditions: is not valid JSON.'],
    });
    expectValidation(
      await api.post('/api/v1/subscriberGroups', {
        name: 'x',
        type: 2,
        conditions: [{ status: { condition: 'like', value: '1' } }],
      }),
      {
        conditions: [
          "conditions[0].status.condition: condition 'like' is not allowed for status; allowed: =, >, >=, <, <=.",
        ],
      },
    );
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2, conditions: { status: 1 } }), {
      conditions: ['The selected conditions is invalid.'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 1, conditions: [{ status: 1 }] }), {
      conditions: ['The conditions can only be given for dynamic groups (type 2).'],
    });
    expectValidation(await api.post('/api/v1/subscriberGroups', { name: 'x', type: 1, canEdit: false }), {
      canEdit: ['The canEdit can only be false for external groups (type 3).'],
    });
    expect((await api.get('/api/v1/subscriberGroups')).body.meta.pagination.total).toBe(0);

    const s = await group(api, { name: 'static', type: 1, conditions: null, canDelete: true });
    expectValidation(await api.put(`/api/v1/subscriberGroups/${s.id}`, { type: 2 }), {
      type: ['The type cannot be changed; create a new group of the other type.'],
    });
    const d = await group(api, { name: 'dynamic', type: 2, conditions: '[{"languageIso":"de"}]' });
    expect(d.conditions).toEqual([{ languageIso: 'de' }]);
    expectValidation(await api.put(`/api/v1/subscriberGroups/${d.id}`, { conditions: null }), {
      conditions: ['The conditions field is required.'],
    });
    expectValidation(await api.put(`/api/v1/subscriberGroups/${d.id}`, { conditions: [{ nope: 1 }] }), {
      conditions: [expect.stringMatching(/^conditions\[0\]\.nope: /)],
    });
    expect((await api.get(`/api/v1/subscriberGroups/${d.id}`)).body.data.conditions).toEqual([{ languageIso: 'de' }]);
  });

  it('external groups keep the can* flags they are given; other types are always editable', async () => {
    const api = await fresh();
    const ext = await group(api, { name: 'CRM', type: 3, canEdit: false, canAssignSubscribers: false });
    expect(ext).toMatchObject({
      type: 3,
      canEdit: false,
      canDelete: true,
      canAssignSubscribers: false,
      conditions: null,
    });
    const changed = await api.put(`/api/v1/subscriberGroups/${ext.id}`, { canDelete: false, canEdit: true });
    expect(changed.body.data).toMatchObject({ canEdit: true, canDelete: false, canAssignSubscribers: false });
    // The flags describe dashboard rights; the API (the outside system) still assigns members.
    const s = await createSubscriber(api, { email: 'crm@example.org' });
    const added = await api.post(`/api/v1/subscriberGroups/${ext.id}/subscribers`, { subscriberIds: [s] });
    expect(added.status).toBe(200);
    expect(await count(api, ext.id)).toBe(1);
    const stat = await group(api, { name: 'S', type: 1, canEdit: true });
    expect(stat).toMatchObject({ canEdit: true, canDelete: true, canAssignSubscribers: true });
    expectValidation(await api.put(`/api/v1/subscriberGroups/${stat.id}`, { canAssignSubscribers: false }), {
      canAssignSubscribers: ['The canAssignSubscribers can only be false for external groups (type 3).'],
    });
  });

  it('adds and removes members of a static group by id and email; unknown ones are reported', async () => {
    const api = await fresh();
    const other = await fresh();
    const foreign = await createSubscriber(other, { email: 'foreign@example.org' });
    const ada = await createSubscriber(api, { email: 'ada@example.org', firstname: 'Ada', lastname: 'Lovelace' });
    const bob = await createSubscriber(api, { email: 'bob@example.org', firstname: 'Bob' });
    const cy = await createSubscriber(api, { email: 'cy@example.org', firstname: 'Cy' });
    const g = await group(api, { name: 'Static', type: 1 });

    const added = await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
      subscriberIds: [ada, ada, foreign, 999999],
      emails: ['BOB@Example.org', 'nobody@example.org', 'foreign@example.org'],
    });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({
      data: {
        objectType: 'SubscriberGroupMembership',
        subscriberGroupId: g.id,
        added: 2,
        alreadyMembers: 0,
        unknownSubscriberIds: [foreign, 999999],
        unknownEmails: ['nobody@example.org', 'foreign@example.org'],
        subscriberCount: 2,
      },
    });
    const again = await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, { subscriberIds: [ada, cy] });
    expect(again.body.data).toMatchObject({
      added: 1,
      alreadyMembers: 1,
      unknownSubscriberIds: [],
      unknownEmails: [],
      subscriberCount: 3,
    });
    expect(await count(api, g.id)).toBe(3);

    // Members are Subscriber objects, listed with the subscriber search, sorting and paging.
    const list = await api.get(
      `/api/v1/subscriberGroups/${g.id}/subscribers?limit=2&sorting=${search([{ firstname: 'desc' }])}`,
    );
    expect(list.status).toBe(200);
    expect(list.body.data.map((s: any) => s.id)).toEqual([cy, bob]);
    expect(list.body.data[1]).toEqual((await api.get(`/api/v1/subscribers/${bob}`)).body.data);
    expect(list.body.data[0].objectType).toBe('Subscriber');
    expect(list.body.meta.pagination).toEqual({
      total: 3,
      count: 2,
      perPage: 2,
      currentPage: 1,
      totalPages: 2,
      links: { next: expect.stringContaining('page=2'), previous: '' },
    });
    expect(await memberIds(api, g.id, `&search=${search([{ email: { condition: 'like', value: 'ADA@%' } }])}`)).toEqual(
      [ada],
    );
    expectValidation(
      await api.get(`/api/v1/subscriberGroups/${g.id}/subscribers?sorting=${search([{ street: 'asc' }])}`),
      {
        sorting: [expect.stringMatching(/^sorting\[0\]\.street: 'street' is not a sortable field\./)],
      },
    );

    const one = await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers/${bob}`);
    expect(one.status).toBe(204);
    expect(await memberIds(api, g.id)).toEqual([ada, cy]);
    expectNotFound(
      await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers/${bob}`),
      'Subscriber is not a member of this subscriber group',
    );
    expectNotFound(await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers/${foreign}`), 'Subscriber not found');

    const many = await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
      body: { subscriberIds: [ada, bob], emails: ['nobody@example.org'] },
    });
    expect(many.status).toBe(200);
    expect(many.body).toEqual({
      data: {
        objectType: 'SubscriberGroupMembership',
        subscriberGroupId: g.id,
        removed: 1,
        notMembers: 1,
        unknownSubscriberIds: [],
        unknownEmails: ['nobody@example.org'],
        subscriberCount: 1,
      },
    });
    expect(await memberIds(api, g.id)).toEqual([cy]);

    expectValidation(await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, {}), {
      subscriberIds: ['The subscriberIds field is required when emails is not present.'],
    });
    expectValidation(await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, { subscriberIds: ['x'] }), {
      'subscriberIds.0': ['The subscriberIds.0 must be an integer.'],
    });

    // The subscribers stay when the group goes.
    expect((await api.delete(`/api/v1/subscriberGroups/${g.id}`)).status).toBe(204);
    expect((await api.get(`/api/v1/subscribers/${cy}`)).status).toBe(200);
  });

  it('erased subscribers never count or list', async () => {
    const api = await fresh();
    const [a, b] = [
      await createSubscriber(api, { email: 'a@example.org', languageIso: 'de' }),
      await createSubscriber(api, { email: 'b@example.org', languageIso: 'de' }),
    ];
    const s = await group(api, { name: 'S', type: 1 });
    const d = await group(api, { name: 'D', type: 2, conditions: [{ languageIso: 'de' }] });
    await api.post(`/api/v1/subscriberGroups/${s.id}/subscribers`, { subscriberIds: [a, b] });
    expect([await count(api, s.id), await count(api, d.id)]).toEqual([2, 2]);
    await eraseSubscriber(api, a);
    expect([await count(api, s.id), await count(api, d.id)]).toEqual([1, 1]);
    expect(await memberIds(api, s.id)).toEqual([b]);
    expect(await memberIds(api, d.id)).toEqual([b]);
    const list = await api.get('/api/v1/subscriberGroups');
    expect(list.body.data.map((g: any) => g.subscriberCount)).toEqual([1, 1]);
    // An erased subscriber cannot be added again.
    const re = await api.post(`/api/v1/subscriberGroups/${s.id}/subscribers`, { subscriberIds: [a] });
    expect(re.body.data).toMatchObject({ added: 0, unknownSubscriberIds: [a], subscriberCount: 1 });
  });

  it('a dynamic group’s members follow its conditions as subscribers change', async () => {
    const api = await fresh();
    const ada = await createSubscriber(api, { email: 'ada@example.org', languageIso: 'de', city: 'Berlin' });
    const bob = await createSubscriber(api, { email: 'bob@example.org', languageIso: 'en', city: 'Bonn' });
    const d = await group(api, {
      name: 'German speakers in B',
      type: 2,
      conditions: [{ languageIso: 'de' }, { city: { condition: 'like', value: 'B%' } }],
    });
    expect(d).toMatchObject({
      type: 2,
      subscriberCount: 1,
      conditions: [{ languageIso: 'de' }, { city: { condition: 'like', value: 'B%' } }],
    });
    expect(await memberIds(api, d.id)).toEqual([ada]);

    await updateSubscriber(api, bob, { languageIso: 'de' });
    expect(await count(api, d.id)).toBe(2);
    expect(await memberIds(api, d.id)).toEqual([ada, bob]);
    const cy = await createSubscriber(api, { email: 'cy@example.org', languageIso: 'de', city: 'Bremen' });
    expect(await memberIds(api, d.id)).toEqual([ada, bob, cy]);
    await updateSubscriber(api, ada, { city: 'Hamburg' });
    expect(await memberIds(api, d.id)).toEqual([bob, cy]);
    // The member list's own search narrows the group further.
    expect(await memberIds(api, d.id, `&search=${search([{ email: 'cy@example.org' }])}`)).toEqual([cy]);

    // New conditions apply at once.
    const changed = await api.put(`/api/v1/subscriberGroups/${d.id}`, { conditions: [{ city: 'Hamburg' }] });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ conditions: [{ city: 'Hamburg' }], subscriberCount: 1 });
    expect(await memberIds(api, d.id)).toEqual([ada]);

    // Members of a dynamic group cannot be added or removed by hand: 423/1025.
    expectError(
      await api.post(`/api/v1/subscriberGroups/${d.id}/subscribers`, { subscriberIds: [bob] }),
      423,
      1025,
      [],
      LOCKED,
    );
    expectError(await api.delete(`/api/v1/subscriberGroups/${d.id}/subscribers/${ada}`), 423, 1025, [], LOCKED);
    expectError(
      await api.delete(`/api/v1/subscriberGroups/${d.id}/subscribers`, { body: { subscriberIds: [ada] } }),
      423,
      1025,
      [],
      LOCKED,
    );
    expect(await memberIds(api, d.id)).toEqual([ada]);
  });

  it('dynamic groups can filter on behaviour and custom fields', async () => {
    const api = await fresh();
    const field = (
      await api.post('/api/v1/customerFields', { fieldType: 1, type: 2, translations: { en: { name: 'Score' } } })
    ).body.data.id;
    const low = await createSubscriber(api, { email: 'low@example.org', customerFields: { [field]: 3 } });
    const high = await createSubscriber(api, { email: 'high@example.org', customerFields: { [field]: 30 } });
    await createSubscriber(api, { email: 'none@example.org' });
    const d = await group(api, {
      name: 'High scores',
      type: 2,
      conditions: [{ [`customerFields.${field}`]: { condition: '>=', value: 10 } }],
    });
    expect(d.subscriberCount).toBe(1);
    expect(await memberIds(api, d.id)).toEqual([high]);
    await updateSubscriber(api, low, { customerFields: { [field]: 12 } });
    expect(await memberIds(api, d.id)).toEqual([low, high]);
    const members = (await api.get(`/api/v1/subscriberGroups/${d.id}/subscribers`)).body.data;
    expect(members.map((m: any) => m.customerFields[String(field)])).toEqual([12, 30]);

    const never = await group(api, { name: 'Never opened', type: 2, conditions: [{ lastOpenedAt: null }] });
    expect(never.subscriberCount).toBe(3);
    expectValidation(
      await api.post('/api/v1/subscriberGroups', { name: 'x', type: 2, conditions: [{ 'customerFields.999999': 1 }] }),
      {
        conditions: ['conditions[0].customerFields.999999: there is no customer field with id 999999.'],
      },
    );
  });

  it('takes at most 1,000 subscribers per request (413), and handles a full batch', async () => {
    const api = await fresh();
    const g = await group(api, { name: 'Big', type: 1 });
    const ids = await bulkSubscribers(
      api,
      Array.from({ length: 1000 }, (_, i) => ({ email: `s${i}@example.org` })),
    );
    expect(ids).toHaveLength(1000);

    const tooMany = await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, { subscriberIds: [...ids, 1] });
    expectValidation(
      tooMany,
      { subscriberIds: ['At most 1000 subscriberIds and emails in all per request; send several requests.'] },
      413,
    );
    const mixed = await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
      subscriberIds: ids.slice(0, 600),
      emails: Array.from({ length: 401 }, (_, i) => `s${i}@example.org`),
    });
    expectValidation(
      mixed,
      { emails: ['At most 1000 subscriberIds and emails in all per request; send several requests.'] },
      413,
    );
    expect(await count(api, g.id)).toBe(0);

    const full = await api.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
      subscriberIds: ids.slice(0, 700),
      emails: Array.from({ length: 300 }, (_, i) => `s${i + 700}@example.org`),
    });
    expect(full.status).toBe(200);
    expect(full.body.data).toMatchObject({
      added: 1000,
      alreadyMembers: 0,
      unknownSubscriberIds: [],
      unknownEmails: [],
      subscriberCount: 1000,
    });
    const page = await api.get(`/api/v1/subscriberGroups/${g.id}/subscribers?limit=1000&page=1`);
    expect(page.body.data).toHaveLength(1000);
    expect(page.body.meta.pagination).toMatchObject({ total: 1000, count: 1000, totalPages: 1 });

    const removed = await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
      body: { subscriberIds: ids.slice(0, 1000) },
    });
    expect(removed.body.data).toMatchObject({ removed: 1000, notMembers: 0, subscriberCount: 0 });
    expectValidation(
      await api.delete(`/api/v1/subscriberGroups/${g.id}/subscribers`, {
        body: { emails: Array.from({ length: 1001 }, (_, i) => `x${i}@example.org`) },
      }),
      { emails: ['At most 1000 subscriberIds and emails in all per request; send several requests.'] },
      413,
    );
  });

  it('another account’s group is 404/1020 on every route; groups need the Subscriber Groups permission', async () => {
    const mine = await fresh();
    const theirs = await fresh();
    const g = await group(theirs, { name: 'Theirs', type: 1 });
    const s = await createSubscriber(theirs, { email: 'x@example.org' });
    await theirs.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, { subscriberIds: [s] });
    const nf = 'Subscriber group not found';
    expectNotFound(await mine.get(`/api/v1/subscriberGroups/${g.id}`), nf);
    expectNotFound(await mine.put(`/api/v1/subscriberGroups/${g.id}`, { name: 'Mine' }), nf);
    expectNotFound(await mine.delete(`/api/v1/subscriberGroups/${g.id}`), nf);
    expectNotFound(await mine.get(`/api/v1/subscriberGroups/${g.id}/subscribers`), nf);
    expectNotFound(await mine.post(`/api/v1/subscriberGroups/${g.id}/subscribers`, { subscriberIds: [s] }), nf);
    expectNotFound(await mine.delete(`/api/v1/subscriberGroups/${g.id}/subscribers/${s}`), nf);
    expectNotFound(
      await mine.delete(`/api/v1/subscriberGroups/${g.id}/subscribers`, { body: { subscriberIds: [s] } }),
      nf,
    );
    expect((await mine.get('/api/v1/subscriberGroups')).body.data).toEqual([]);
    expect((await theirs.get(`/api/v1/subscriberGroups/${g.id}`)).body.data).toMatchObject({
      name: 'Theirs',
      subscriberCount: 1,
    });

    const subscribersOnly = await server.newKey({ name: 'subscribers only', permissions: ['subscribers'] });
    expectError(
      await server.api.get('/api/v1/subscriberGroups', { auth: basicAuth(subscribersOnly) }),
      403,
      1020,
      { permission: ['this API key lacks the "Subscriber Groups" permission'] },
      'This action is unauthorized.',
    );
    expectError(await server.api.get('/api/v1/subscriberGroups', { auth: null }), 401, 401, [], 'Invalid credentials.');
  });
});
