// The account area of the marketing API: GET /whoami (with include), GET /languages and channels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import {
  DATE_TIME,
  basicAuth,
  createSubscriber,
  expectError,
  expectNotFound,
  expectValidation,
} from '../helpers/marketing-fixtures.ts';
import { insertAccount } from '../../src/store/accounts.ts';
import { newId } from '../../src/domain/ids.ts';

const LANGUAGES = [
  { objectType: 'Language', iso: 'de', name: 'Deutsch' },
  { objectType: 'Language', iso: 'en', name: 'English' },
];

describe(`marketing account, languages and channels (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const fresh = async () => server.newAccount();

  it('GET /whoami answers the key’s account, with Bearer and with Basic auth', async () => {
    const bearer = await server.api.get('/api/v1/whoami');
    expect(bearer.status).toBe(200);
    expect(bearer.body).toEqual({
      data: {
        objectType: 'Account',
        id: server.accountIntId,
        type: 'S',
        name: 'Default account',
        createdAt: expect.stringMatching(DATE_TIME),
      },
    });

    const basic = await server.api.get('/api/v1/whoami', { auth: basicAuth(server.key) });
    expect(basic.status).toBe(200);
    expect(basic.body).toEqual(bearer.body);

    const other = await fresh();
    const theirs = await other.api.get('/api/v1/whoami');
    expect(theirs.body.data).toMatchObject({ id: other.accountIntId, name: `Account ${other.accountId}`, type: 'S' });

    // Any valid key will do: whoami needs no particular permission.
    const narrow = await server.newKey({ name: 'groups only', permissions: ['subscriber_groups'] });
    expect((await server.api.get('/api/v1/whoami', { auth: basicAuth(narrow) })).status).toBe(200);

    expectError(await server.api.get('/api/v1/whoami', { auth: null }), 401, 401, [], 'Invalid credentials.');
    expectError(
      await server.api.get('/api/v1/whoami', { auth: basicAuth('abcdefgh.' + '0'.repeat(32)) }),
      401,
      401,
      [],
      'Invalid credentials.',
    );
  });

  it('an account with sub-accounts is type L', async () => {
    const parent = await fresh();
    expect((await parent.api.get('/api/v1/whoami')).body.data.type).toBe('S');
    await insertAccount(server.app.ctx.db, {
      id: newId(),
      name: 'Child',
      parent_id: parent.accountId,
      status: 'Active',
      created_at: Date.now(),
    });
    expect((await parent.api.get('/api/v1/whoami')).body.data.type).toBe('L');
  });

  it('include=channels,languages adds both lists; an unknown include is 422/1002', async () => {
    const { api } = await fresh();
    const none = await api.get('/api/v1/whoami?include=channels,languages');
    expect(none.body.data.channels).toEqual({ data: [] });
    expect(none.body.data.languages).toEqual({ data: LANGUAGES });

    const news = (await api.post('/api/v1/channels', { name: 'News', senderEmail: 'news@example.org' })).body.data;
    const offers = (await api.post('/api/v1/channels', { name: 'Offers', languageIso: 'en' })).body.data;
    const both = await api.get('/api/v1/whoami?include=' + encodeURIComponent(' languages , channels,channels'));
    expect(both.status).toBe(200);
    expect(both.body.data.channels).toEqual({ data: [news, offers] });
    expect(both.body.data.languages).toEqual({ data: LANGUAGES });

    const onlyLanguages = await api.get('/api/v1/whoami?include=languages');
    expect(onlyLanguages.body.data.channels).toBeUndefined();

    expectValidation(await api.get('/api/v1/whoami?include=channels,mailings'), {
      include: ["include[1]: 'mailings' cannot be included. Available: channels, languages."],
    });
  });

  it('GET /languages lists de and en', async () => {
    const res = await server.api.get('/api/v1/languages', { auth: basicAuth(server.key) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: LANGUAGES,
      meta: {
        pagination: {
          total: 2,
          count: 2,
          perPage: 10,
          currentPage: 1,
          totalPages: 1,
          links: { next: '', previous: '' },
        },
      },
    });
    const second = await server.api.get('/api/v1/languages?limit=1&page=2');
    expect(second.body.data).toEqual([LANGUAGES[1]]);
    expect(second.body.meta.pagination).toMatchObject({
      total: 2,
      count: 1,
      perPage: 1,
      currentPage: 2,
      totalPages: 2,
      links: { next: '' },
    });
    expect(second.body.meta.pagination.links.previous).toMatch(/\/api\/v1\/languages\?limit=1&page=1$/);
    expectValidation(await server.api.get('/api/v1/languages?limit=1001'), {
      limit: ['limit: must be a whole number from 1 to 1000.'],
    });
  });

  it('creates, reads, changes, lists and deletes channels', async () => {
    const { api } = await fresh();
    const created = await api.post('/api/v1/channels', {
      name: ' Newsletter ',
      senderName: 'Posthorn',
      senderEmail: 'News@Example.ORG',
      replyTo: 'reply@example.org',
      languageIso: 'en',
      color: '#1A73E8',
    });
    expect(created.status).toBe(201);
    const channel = created.body.data;
    expect(created.body).toEqual({
      data: {
        objectType: 'Channel',
        id: expect.any(Number),
        name: 'Newsletter',
        senderName: 'Posthorn',
        senderEmail: 'News@example.org',
        replyTo: 'reply@example.org',
        languageIso: 'en',
        color: '#1a73e8',
        optInMailingId: null,
        optOutMailingId: null,
        createdAt: expect.stringMatching(DATE_TIME),
        updatedAt: channel.createdAt,
      },
    });

    const read = await api.get(`/api/v1/channels/${channel.id}`, { auth: basicAuth(api.key!) });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    // PUT changes only what it sends; null clears an optional field.
    const changed = await api.put(`/api/v1/channels/${channel.id}`, { name: 'Weekly', replyTo: null });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toEqual({
      ...channel,
      name: 'Weekly',
      replyTo: null,
      updatedAt: expect.stringMatching(DATE_TIME),
    });

    // Defaults: language de, optional fields null.
    const plain = (await api.post('/api/v1/channels', { name: 'Plain' })).body.data;
    expect(plain).toMatchObject({
      name: 'Plain',
      senderName: null,
      senderEmail: null,
      replyTo: null,
      languageIso: 'de',
      color: null,
    });
    const third = (await api.post('/api/v1/channels', { name: 'Third' })).body.data;

    const page1 = await api.get('/api/v1/channels?limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((c: any) => c.id)).toEqual([channel.id, plain.id]);
    expect(page1.body.data[0]).toEqual(changed.body.data);
    expect(page1.body.meta.pagination).toEqual({
      total: 3,
      count: 2,
      perPage: 2,
      currentPage: 1,
      totalPages: 2,
      links: { next: expect.stringMatching(/^http:\/\/.+\/api\/v1\/channels\?limit=2&page=2$/), previous: '' },
    });
    const page2 = await api.get('/api/v1/channels?limit=2&page=2');
    expect(page2.body.data.map((c: any) => c.id)).toEqual([third.id]);
    expect(page2.body.meta.pagination).toMatchObject({ count: 1, currentPage: 2, links: { next: '' } });

    const deleted = await api.delete(`/api/v1/channels/${channel.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectNotFound(await api.get(`/api/v1/channels/${channel.id}`), 'Channel not found');
    expectNotFound(await api.delete(`/api/v1/channels/${channel.id}`), 'Channel not found');
    expectNotFound(await api.get('/api/v1/channels/not-a-number'), 'Channel not found');
    expect((await api.get('/api/v1/channels')).body.meta.pagination.total).toBe(2);
  });

  it('validates channels with the seed’s error body', async () => {
    const { api } = await fresh();
    expectValidation(await api.post('/api/v1/channels', {}), { name: ['The name field is required.'] });
    expectValidation(await api.post('/api/v1/channels', { name: '   ' }), { name: ['The name field is required.'] });
    expectValidation(await api.post('/api/v1/channels', { name: 42 }), { name: ['The name must be a string.'] });
    expectValidation(await api.post('/api/v1/channels', { name: 'N', senderEmail: 'not-an-address' }), {
      senderEmail: ['The senderEmail must be a valid email address.'],
    });
    expectValidation(await api.post('/api/v1/channels', { name: 'N', replyTo: 'a@b' }), {
      replyTo: ['The replyTo must be a valid email address.'],
    });
    expectValidation(await api.post('/api/v1/channels', { name: 'N', languageIso: 'fr' }), {
      languageIso: ["The languageIso must be one of the account's languages: de, en."],
    });
    expectValidation(await api.post('/api/v1/channels', { name: 'N', color: 'red' }), {
      color: ['The color must be a hex colour such as #1a73e8.'],
    });
    expectValidation(await api.post('/api/v1/channels', { name: 'a\nb' }), {
      name: ['The name must not contain line breaks.'],
    });
    const id = (await api.post('/api/v1/channels', { name: 'Ok' })).body.data.id;
    expectValidation(await api.put(`/api/v1/channels/${id}`, { senderEmail: 'x' }), {
      senderEmail: ['The senderEmail must be a valid email address.'],
    });
    expect((await api.get(`/api/v1/channels/${id}`)).body.data.senderEmail).toBeNull();
    expectValidation(await api.get('/api/v1/channels?page=0'), {
      page: ['page: must be a whole number from 1 to 2147483647.'],
    });
  });

  it('another account’s channel is 404/1020, and channels need the Subscribers permission', async () => {
    const mine = await fresh();
    const theirs = await fresh();
    const id = (await theirs.api.post('/api/v1/channels', { name: 'Theirs' })).body.data.id;
    expectNotFound(await mine.api.get(`/api/v1/channels/${id}`), 'Channel not found');
    expectNotFound(await mine.api.put(`/api/v1/channels/${id}`, { name: 'Mine now' }), 'Channel not found');
    expectNotFound(await mine.api.delete(`/api/v1/channels/${id}`), 'Channel not found');
    expect((await mine.api.get('/api/v1/channels')).body.data).toEqual([]);
    expect((await mine.api.get('/api/v1/whoami?include=channels')).body.data.channels).toEqual({ data: [] });
    expect((await theirs.api.get(`/api/v1/channels/${id}`)).body.data.name).toBe('Theirs');

    const narrow = await server.newKey({ name: 'groups only', permissions: ['subscriber_groups'] });
    const denied = await server.api.get('/api/v1/channels', { auth: basicAuth(narrow) });
    expectError(
      denied,
      403,
      1020,
      { permission: ['this API key lacks the "Subscribers" permission'] },
      'This action is unauthorized.',
    );
  });

  it('deleting a channel ends its subscriptions but keeps the subscribers', async () => {
    const { api, accountId } = await fresh();
    const keep = (await api.post('/api/v1/channels', { name: 'Keep' })).body.data.id;
    const drop = (await api.post('/api/v1/channels', { name: 'Drop' })).body.data.id;
    const subscriber = await createSubscriber(api, { email: 'ada@example.org', channels: [keep, drop] });
    expect((await api.get(`/api/v1/subscribers/${subscriber}`)).body.data.channels).toEqual([keep, drop]);

    expect((await api.delete(`/api/v1/channels/${drop}`)).status).toBe(204);
    const after = await api.get(`/api/v1/subscribers/${subscriber}`);
    expect(after.status).toBe(200);
    expect(after.body.data.channels).toEqual([keep]);
    const links = await server.app.ctx.db
      .selectFrom('subscriber_channels')
      .select('channel_id')
      .where('account_id', '=', accountId)
      .execute();
    expect(links.map((l) => Number(l.channel_id))).toEqual([keep]);
  });
});
