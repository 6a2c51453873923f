// The blacklist: addresses and *@domain patterns, search, and the archiving of matching subscribers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import {
  DATE_TIME,
  basicAuth,
  createSubscriber,
  eraseSubscriber,
  expectError,
  expectNotFound,
  expectValidation,
  search,
} from '../helpers/marketing-fixtures.ts';

const PATTERN_RULE = 'must be an email address or *@ followed by a domain, e.g. *@example.com';

describe(`marketing blacklist (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const fresh = async () => server.newAccount();
  const add = async (api: ApiClient, body: Record<string, unknown>) => {
    const res = await api.post('/api/v1/blacklist', body);
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const status = async (api: ApiClient, id: number) => {
    const s = (await api.get(`/api/v1/subscribers/${id}`)).body.data;
    return [s.status, s.statusAddition];
  };

  it('adds addresses and domains lower-cased, lists, searches and deletes them', async () => {
    const { api } = await fresh();
    const created = await api.post(
      '/api/v1/blacklist',
      { pattern: ' Spam@Example.ORG ' },
      { auth: basicAuth(api.key!) },
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      data: {
        objectType: 'Blacklist',
        id: expect.any(Number),
        pattern: 'spam@example.org',
        createdAt: expect.stringMatching(DATE_TIME),
      },
      meta: { archivedSubscribers: 0 },
    });
    const spam = created.body.data;
    const domain = (await add(api, { pattern: '*@Junk.example' })).data;
    expect(domain.pattern).toBe('*@junk.example');
    const alias = (await add(api, { email: 'other@example.net' })).data;
    expect(alias.pattern).toBe('other@example.net');

    const all = await api.get('/api/v1/blacklist');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      data: [spam, domain, alias],
      meta: {
        pagination: {
          total: 3,
          count: 3,
          perPage: 10,
          currentPage: 1,
          totalPages: 1,
          links: { next: '', previous: '' },
        },
      },
    });
    const page2 = await api.get('/api/v1/blacklist?limit=2&page=2');
    expect(page2.body.data).toEqual([alias]);
    expect(page2.body.meta.pagination).toMatchObject({
      total: 3,
      count: 1,
      perPage: 2,
      currentPage: 2,
      totalPages: 2,
      links: { next: '' },
    });
    expect(page2.body.meta.pagination.links.previous).toMatch(/\/api\/v1\/blacklist\?limit=2&page=1$/);

    expect((await api.get(`/api/v1/blacklist?search=${search([{ pattern: 'SPAM@example.org' }])}`)).body.data).toEqual([
      spam,
    ]);
    expect(
      (await api.get(`/api/v1/blacklist?search=${search([{ pattern: { condition: 'like', value: '%example%' } }])}`))
        .body.data,
    ).toEqual([spam, domain, alias]);
    expect(
      (await api.get(`/api/v1/blacklist?search=${search([{ pattern: { condition: 'like', value: '*@%' } }])}`)).body
        .data,
    ).toEqual([domain]);
    expect(
      (await api.get(`/api/v1/blacklist?sorting=${search([{ pattern: 'asc' }])}`)).body.data.map((e: any) => e.id),
    ).toEqual([domain.id, alias.id, spam.id]);
    expectValidation(
      await api.get(`/api/v1/blacklist?search=${search([{ pattern: { condition: '>', value: 'a' } }])}`),
      {
        search: ["search[0].pattern.condition: condition '>' is not allowed for pattern; allowed: =, like."],
      },
    );
    expectValidation(await api.get(`/api/v1/blacklist?search=${search([{ email: 'x' }])}`), {
      search: ["search[0].email: 'email' is not a filterable field. Filterable fields: pattern."],
    });
    expectValidation(await api.get('/api/v1/blacklist?search=[{'), { search: ['search: is not valid JSON.'] });

    const deleted = await api.delete(`/api/v1/blacklist/${spam.id}`);
    expect(deleted.status).toBe(204);
    expect((await api.get('/api/v1/blacklist')).body.data).toEqual([domain, alias]);
    expectNotFound(await api.delete(`/api/v1/blacklist/${spam.id}`), 'Blacklist entry not found');
    expectNotFound(await api.delete('/api/v1/blacklist/abc'), 'Blacklist entry not found');
  });

  it('refuses invalid and duplicate entries', async () => {
    const { api } = await fresh();
    expectValidation(await api.post('/api/v1/blacklist', {}), { pattern: ['The pattern field is required.'] });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: '' }), {
      pattern: ['The pattern field is required.'],
    });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: 'not an address' }), {
      pattern: [`The pattern ${PATTERN_RULE}.`],
    });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: '*@' }), {
      pattern: [`The pattern ${PATTERN_RULE}.`],
    });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: '*@localhost' }), {
      pattern: [`The pattern ${PATTERN_RULE}.`],
    });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: '*@-bad.example' }), {
      pattern: [`The pattern ${PATTERN_RULE}.`],
    });
    expectValidation(await api.post('/api/v1/blacklist', { email: 'x@' }), { email: [`The email ${PATTERN_RULE}.`] });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: 'a@example.org', email: 'b@example.org' }), {
      pattern: ['The pattern field is prohibited when email is present.'],
    });
    expectValidation(await api.post('/api/v1/blacklist', { pattern: 12 }), {
      pattern: ['The pattern must be a string.'],
    });

    await add(api, { pattern: 'dup@example.org' });
    await add(api, { pattern: '*@dup.example' });
    const taken = {
      status: 'error',
      code: 1024,
      message: 'The resource is already existing.',
      errors: [],
      statusCode: 409,
    };
    for (const pattern of ['DUP@example.org', '*@DUP.example']) {
      const res = await api.post('/api/v1/blacklist', { pattern });
      expect(res.status).toBe(409);
      expect(res.body).toEqual(taken);
    }
    expect((await api.get('/api/v1/blacklist')).body.meta.pagination.total).toBe(2);
    // Another account keeps its own list.
    await add((await fresh()).api, { pattern: 'dup@example.org' });
  });

  it('archives the live subscribers a new entry matches (status 3, statusAddition 3)', async () => {
    const { api } = await fresh();
    const target = await createSubscriber(api, { email: 'target@example.org' });
    const sameDomain = await createSubscriber(api, { email: 'a@blocked.example' });
    const pending = await createSubscriber(api, { email: 'b@blocked.example', status: 2, statusAddition: 1 });
    const unsubscribed = await createSubscriber(api, { email: 'c@blocked.example' });
    expect((await api.post(`/api/v1/subscribers/${unsubscribed}/unsubscribe`, {})).status).toBe(200);
    const subdomain = await createSubscriber(api, { email: 'd@sub.blocked.example' });
    const lookalike = await createSubscriber(api, { email: 'e@notblocked.example' });
    const erased = await createSubscriber(api, { email: 'f@blocked.example' });
    await eraseSubscriber(api, erased);
    expect(await status(api, unsubscribed)).toEqual([3, 2]);

    expect((await add(api, { pattern: 'TARGET@example.org' })).meta).toEqual({ archivedSubscribers: 1 });
    expect(await status(api, target)).toEqual([3, 3]);

    expect((await add(api, { pattern: '*@blocked.example' })).meta).toEqual({ archivedSubscribers: 2 });
    expect(await status(api, sameDomain)).toEqual([3, 3]);
    expect(await status(api, pending)).toEqual([3, 3]);
    expect(await status(api, unsubscribed)).toEqual([3, 2]); // keeps the reason it was archived for
    expect(await status(api, subdomain)).toEqual([1, null]);
    expect(await status(api, lookalike)).toEqual([1, null]);
    const tombstone = await server.app.ctx.db
      .selectFrom('subscribers')
      .select(['status', 'email'])
      .where('id', '=', erased)
      .executeTakeFirstOrThrow();
    expect(tombstone.email).toBeNull();

    // Removing the entry does not reactivate anyone.
    const entries = (await api.get('/api/v1/blacklist')).body.data as any[];
    for (const e of entries) expect((await api.delete(`/api/v1/blacklist/${e.id}`)).status).toBe(204);
    expect(await status(api, target)).toEqual([3, 3]);
  });

  it('a blacklisted address cannot be subscribed', async () => {
    const { api } = await fresh();
    await add(api, { pattern: '*@never.example' });
    const res = await api.post('/api/v1/subscribers', { email: 'someone@never.example' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 1002, errors: { email: [expect.any(String)] } });
  });

  it('another account’s entry is 404/1020; the blacklist needs the Subscribers permission', async () => {
    const mine = await fresh();
    const theirs = await fresh();
    const entry = (await add(theirs.api, { pattern: 'x@example.org' })).data;
    expectNotFound(await mine.api.delete(`/api/v1/blacklist/${entry.id}`), 'Blacklist entry not found');
    expect((await mine.api.get('/api/v1/blacklist')).body.data).toEqual([]);
    expect((await theirs.api.get('/api/v1/blacklist')).body.data).toEqual([entry]);
    // An entry in another account neither matches nor archives here.
    const s = await createSubscriber(mine.api, { email: 'x@example.org' });
    expect(await status(mine.api, s)).toEqual([1, null]);

    const groupsOnly = await server.newKey({ name: 'groups only', permissions: ['subscriber_groups'] });
    expectError(
      await server.api.get('/api/v1/blacklist', { auth: basicAuth(groupsOnly) }),
      403,
      1020,
      { permission: ['this API key lacks the "Subscribers" permission'] },
      'This action is unauthorized.',
    );
    expectError(
      await server.api.post('/api/v1/blacklist', { pattern: 'y@example.org' }, { auth: null }),
      401,
      401,
      [],
      'Invalid credentials.',
    );
  });
});
