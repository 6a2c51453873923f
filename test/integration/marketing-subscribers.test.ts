// The subscriber endpoints of the marketing API (/api/v1/subscribers…) through real HTTP:
// envelopes, validation and every error body, status permissions, erase, register, unsubscribe,
// memberships, the list grammar (search, sorting, pagination, injection attempts) and the export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { laravelSummary } from '../helpers/marketing-fixtures.ts';
import { insertChannel, insertCustomerField } from '../helpers/marketing-rows.ts';

const invalidBody = (errors: Record<string, string[]>, statusCode = 422) => ({
  status: 'error',
  code: 1002,
  message: laravelSummary(errors),
  errors,
  statusCode,
});
const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/** A minimal RFC 4180 reader for the export (quoted cells, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length) rows.push([...row, cell]);
  return rows;
}

describe(`marketing subscribers (${dialectName})`, () => {
  let server: TestServer;
  let textField: number;
  let intField: number;
  let dateField: number;
  let otherAccountField: number;
  let channelA: number;
  let channelB: number;

  const db = () => server.app.ctx.db;
  const now = Date.now();
  const countRows = async (table: 'subscribers' | 'subscriber_field_values' | 'subscriber_channels') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const snapshot = async () => [
    await countRows('subscribers'),
    await countRows('subscriber_field_values'),
    await countRows('subscriber_channels'),
  ];

  const addField = (accountId: string, type: number, exportable = 1) =>
    insertCustomerField(db(), accountId, type, { exportable, now });
  const addChannel = (accountId: string, name: string) => insertChannel(db(), accountId, { name }, now);
  async function create(body: Record<string, unknown>, api: ApiClient = server.api): Promise<any> {
    const res = await api.post('/api/v1/subscribers', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.data;
  }

  beforeAll(async () => {
    server = await startTestServer();
    textField = await addField(server.accountId, 1);
    intField = await addField(server.accountId, 2);
    dateField = await addField(server.accountId, 3);
    channelA = await addChannel(server.accountId, 'Weekly');
    channelB = await addChannel(server.accountId, 'Offers');
    const other = await server.newAccount();
    otherAccountField = await addField(other.accountId, 1);
    await db()
      .insertInto('blacklist')
      .values([
        { account_id: server.accountId, pattern: 'blocked@example.com', created_at: now },
        { account_id: server.accountId, pattern: '*@spam.example', created_at: now },
      ])
      .execute();
  });
  afterAll(async () => server?.close());

  describe('create and read', () => {
    it('creates a subscriber (201) with every field and reads it back, also with HTTP Basic', async () => {
      const res = await server.api.post('/api/v1/subscribers', {
        email: 'Florian.Reichart@Example.COM',
        genderId: 1,
        languageIso: 'DE',
        title: 'Dr.',
        firstname: 'Florian',
        lastname: 'Reichart',
        company: 'atrivio',
        street: 'Hauptstr. 1',
        postcode: '80331',
        city: 'München',
        phoneNumber: '+49 89 123',
        birthday: '1980-02-29',
        optInComment: 'Signed up at the fair\nbooth 4',
        optInIp: '192.0.2.10',
        optInConfirmedAt: '2021-01-22 10:28:00',
        customerFields: { [textField]: 'gold', [intField]: '42', [dateField]: '2024-12-24' },
        channels: [channelB, channelA, channelA],
      });
      expect(res.status).toBe(201);
      const s = res.body.data;
      expect(s).toEqual({
        objectType: 'Subscriber',
        id: expect.any(Number),
        email: 'florian.reichart@example.com',
        status: 1,
        statusAddition: null,
        genderId: 1,
        languageIso: 'de',
        title: 'Dr.',
        firstname: 'Florian',
        lastname: 'Reichart',
        company: 'atrivio',
        street: 'Hauptstr. 1',
        postcode: '80331',
        city: 'München',
        phoneNumber: '+49 89 123',
        birthday: '1980-02-29',
        optInComment: 'Signed up at the fair\nbooth 4',
        optInSent: false,
        optInSentAt: null,
        optInConfirmedAt: '2021-01-22 10:28:00',
        optInIp: '192.0.2.10',
        reference: null,
        customerFields: { [textField]: 'gold', [intField]: 42, [dateField]: '2024-12-24' },
        channels: [channelA, channelB].sort((a, b) => a - b),
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      });
      const basic = 'Basic ' + Buffer.from('anystring:' + server.key).toString('base64');
      const read = await server.api.get(`/api/v1/subscribers/${s.id}`, { auth: basic });
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ data: s });
    });

    it('sendOptIn: true creates 2/1 and sends the opt-in mail; without it the status is 1', async () => {
      const s = await create({ email: 'optin@example.org', sendOptIn: true, channels: [channelA] });
      expect(s).toMatchObject({
        status: 2,
        statusAddition: 1,
        optInSent: true, // a boolean, as in the seed's example
        optInSentAt: expect.stringMatching(/^\d{4}-/),
      });
      const mails = await db()
        .selectFrom('messages')
        .select(['recipient', 'transmission_id'])
        .where('recipient', '=', 'optin@example.org')
        .execute();
      expect(mails).toHaveLength(1);
      const plain = await create({ email: 'plain@example.org', sendOptIn: false });
      expect(plain).toMatchObject({ status: 1, statusAddition: null, optInSent: false, optInSentAt: null });
      expect(
        await db().selectFrom('messages').select('id').where('recipient', '=', 'plain@example.org').execute(),
      ).toHaveLength(0);
    });

    it('answers 409/1024 for an email that exists, whatever its case', async () => {
      await create({ email: 'twice@example.org' });
      const res = await server.api.post('/api/v1/subscribers', { email: 'TWICE@example.org' });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        status: 'error',
        code: 1024,
        message: 'The resource is already existing.',
        errors: [],
        statusCode: 409,
      });
    });

    it('lists every invalid field at once (422/1002) and stores nothing', async () => {
      const before = await snapshot();
      const res = await server.api.post('/api/v1/subscribers', { email: 'florian.reichart@', firstname: 5 });
      expect(res.status).toBe(422);
      expect(res.body).toEqual(
        invalidBody({
          email: ['The email must be a valid email address.'],
          firstname: ['The firstname must be a string.'],
        }),
      );

      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{}, 'email', 'The email field is required.'],
        [{ email: 42 }, 'email', 'The email must be a string.'],
        [{ email: 'a@example.org', genderId: 4 }, 'genderId', 'The selected genderId is invalid.'],
        [
          { email: 'a@example.org', languageIso: 'deu' },
          'languageIso',
          'The languageIso must be a two-letter language code such as "de".',
        ],
        [
          { email: 'a@example.org', birthday: '2021-02-30' },
          'birthday',
          'The birthday must be a real date in the format YYYY-MM-DD.',
        ],
        [
          { email: 'a@example.org', birthday: '01.02.1990' },
          'birthday',
          'The birthday must be a real date in the format YYYY-MM-DD.',
        ],
        [
          { email: 'a@example.org', title: 'x'.repeat(65) },
          'title',
          'The title may not be greater than 64 characters.',
        ],
        [
          { email: 'a@example.org', firstname: 'x'.repeat(1024 * 1024) },
          'firstname',
          'The firstname may not be greater than 255 characters.',
        ],
        [
          { email: 'a@example.org', lastname: 'Evil\r\nBcc: x@example.com' },
          'lastname',
          'The lastname must not contain line breaks or NUL characters.',
        ],
        [{ email: 'a@example.org', optInIp: '999.1.1.1' }, 'optInIp', 'The optInIp must be an IPv4 or IPv6 address.'],
        [
          { email: 'a@example.org', optInConfirmedAt: '2021-01-22T10:28:00Z' },
          'optInConfirmedAt',
          'The optInConfirmedAt must be a date and time in the format YYYY-MM-DD HH:MM:SS (UTC).',
        ],
        [{ email: 'a@example.org', status: 7 }, 'status', 'The status must be 1, 2 or 3.'],
        [
          { email: 'a@example.org', status: 1, statusAddition: 2 },
          'statusAddition',
          'The statusAddition 2 does not go with status 1 (1: null; 2: 1; 3: 2, 3, 4 or 5).',
        ],
        [{ email: 'a@example.org', sendOptIn: 'yes' }, 'sendOptIn', 'The sendOptIn must be true or false.'],
        [
          { email: 'a@example.org', customerFields: [1, 2] },
          'customerFields',
          'The customerFields must be an object keyed by customer field id.',
        ],
        [
          { email: 'a@example.org', customerFields: { 999999: 'x' } },
          'customerFields.999999',
          'The customerFields.999999 is not a subscriber field of this account.',
        ],
        [
          { email: 'a@example.org', customerFields: { [otherAccountField]: 'x' } },
          `customerFields.${otherAccountField}`,
          `The customerFields.${otherAccountField} is not a subscriber field of this account.`,
        ],
        [
          { email: 'a@example.org', customerFields: { constructor: 'x' } },
          'customerFields.constructor',
          'The customerFields.constructor is not a subscriber field of this account.',
        ],
        [
          { email: 'a@example.org', channels: [channelA, 999999] },
          'channels',
          'The channels contain ids that are not channels of this account: 999999.',
        ],
        [{ email: 'a@example.org', channels: 'all' }, 'channels', 'The channels must be a list of channel ids.'],
      ];
      for (const [body, field, message] of cases) {
        const r = await server.api.post('/api/v1/subscribers', body);
        expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(422);
        expect(r.body).toEqual(invalidBody({ [field]: [message] }));
      }
      for (const [value, message] of [
        ['many', 'must be an integer'],
        [1.5, 'must be an integer'],
      ] as const) {
        const r = await server.api.post('/api/v1/subscribers', {
          email: 'a@example.org',
          customerFields: { [intField]: value },
        });
        expect(r.body).toEqual(
          invalidBody({ [`customerFields.${intField}`]: [`The customerFields.${intField} ${message}.`] }),
        );
      }
      const badDate = await server.api.post('/api/v1/subscribers', {
        email: 'a@example.org',
        customerFields: { [dateField]: '2024-13-01' },
      });
      expect(badDate.body).toEqual(
        invalidBody({
          [`customerFields.${dateField}`]: [`The customerFields.${dateField} must be a date in the format YYYY-MM-DD.`],
        }),
      );
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a blacklisted address or domain (422 naming email)', async () => {
      for (const email of ['blocked@example.com', 'Someone@SPAM.example']) {
        const res = await server.api.post('/api/v1/subscribers', { email });
        expect(res.status).toBe(422);
        expect(res.body).toEqual(invalidBody({ email: ['The email is blacklisted.'] }));
      }
    });

    it('speaks the error dialect for auth, permissions, media type, bad JSON, unknown ids and methods', async () => {
      const noKey = await server.api.get('/api/v1/subscribers', { auth: null });
      expect(noKey.status).toBe(401);
      expect(noKey.body).toEqual({
        status: 'error',
        code: 401,
        message: 'Invalid credentials.',
        errors: [],
        statusCode: 401,
      });
      const wrongKey = await server.api.get('/api/v1/subscribers', {
        auth: 'Basic ' + Buffer.from('x:nope').toString('base64'),
      });
      expect(wrongKey.status).toBe(401);
      const groupsOnly = await server.newKey({ name: 'groups', permissions: ['subscriber_groups'] });
      const forbidden = await server.api.get('/api/v1/subscribers', { auth: `Bearer ${groupsOnly}` });
      expect(forbidden.status).toBe(403);
      // A code of the seed's table for what was tried (1020 getting, 1021 creating…), Laravel's message.
      expect(forbidden.body).toEqual({
        status: 'error',
        code: 1020,
        message: 'This action is unauthorized.',
        errors: { permission: ['this API key lacks the "Subscribers" permission'] },
        statusCode: 403,
      });
      const forbiddenCreate = await server.api.post(
        '/api/v1/subscribers',
        { email: 'x@example.org' },
        { auth: `Bearer ${groupsOnly}` },
      );
      expect(forbiddenCreate.body).toMatchObject({ code: 1021, statusCode: 403 });

      const text = await server.api.request('POST', '/api/v1/subscribers', {
        rawBody: 'email=a@example.org',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      expect(text.body).toMatchObject({ status: 'error', code: 1002, statusCode: 415 });
      const broken = await server.api.request('POST', '/api/v1/subscribers', {
        rawBody: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      expect(broken.status).toBe(400);
      expect(broken.body).toMatchObject({
        status: 'error',
        code: 1002,
        message: broken.body.errors.body[0],
        errors: { body: [expect.stringMatching(/at line 1, column 10 \(position 9\)/)] },
        statusCode: 400,
      });
      const notObject = await server.api.post('/api/v1/subscribers', ['a@example.org']);
      expect(notObject.body).toEqual(invalidBody({ body: ['The body must be a JSON object.'] }));

      for (const path of ['/api/v1/subscribers/999999', '/api/v1/subscribers/abc', '/api/v1/subscribers/0']) {
        const res = await server.api.get(path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({
          status: 'error',
          code: 1020,
          message: 'Subscriber not found',
          errors: [],
          statusCode: 404,
        });
      }
      const patch = await server.api.request('PATCH', '/api/v1/subscribers/1', { body: {} });
      expect(patch.status).toBe(405);
      expect(patch.body).toEqual({
        status: 'error',
        code: 1022,
        message: 'The PATCH method is not supported for this route. Supported methods: GET, PUT, DELETE.',
        errors: [],
        statusCode: 405,
      });
      const deleteAll = await server.api.request('DELETE', '/api/v1/subscribers');
      expect(deleteAll.body).toMatchObject({ code: 1023, statusCode: 405 });
    });

    it("treats another account's subscriber as unknown (404) for every endpoint", async () => {
      const other = await server.newAccount();
      const theirs = await create({ email: 'theirs@example.org' }, other.api);
      const notFound = { status: 'error', code: 1020, message: 'Subscriber not found', errors: [], statusCode: 404 };
      for (const res of [
        await server.api.get(`/api/v1/subscribers/${theirs.id}`),
        await server.api.put(`/api/v1/subscribers/${theirs.id}`, { firstname: 'Mine' }),
        await server.api.delete(`/api/v1/subscribers/${theirs.id}`),
        await server.api.post(`/api/v1/subscribers/${theirs.id}/unsubscribe`, {}),
        await server.api.get(`/api/v1/subscribers/${theirs.id}/subscriberGroups`),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body).toEqual(notFound);
      }
      expect((await other.api.get(`/api/v1/subscribers/${theirs.id}`)).body.data).toMatchObject({
        email: 'theirs@example.org',
        firstname: null,
      });
      // Our own email space is separate: the same address may exist in both accounts.
      await create({ email: 'theirs@example.org' });
    });
  });

  describe('change', () => {
    it('PUT changes only the fields it sends; null clears; channels replace; custom values merge', async () => {
      const s = await create({
        email: 'put@example.org',
        firstname: 'Ada',
        lastname: 'Lovelace',
        city: 'London',
        customerFields: { [textField]: 'a', [intField]: 1 },
        channels: [channelA],
      });
      const res = await server.api.put(`/api/v1/subscribers/${s.id}`, {
        lastname: 'King',
        city: null,
        customerFields: { [intField]: 2, [textField]: null },
        channels: [channelB],
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({
        objectType: 'Subscriber',
        id: s.id,
        email: 'put@example.org',
        firstname: 'Ada',
        lastname: 'King',
        city: null,
        customerFields: { [textField]: null, [intField]: 2, [dateField]: null },
        channels: [channelB],
      });
      const again = await server.api.put(`/api/v1/subscribers/${s.id}`, { email: 'PUT2@example.org' });
      expect(again.body.data).toMatchObject({ email: 'put2@example.org', lastname: 'King', channels: [channelB] });
      const empty = await server.api.put(`/api/v1/subscribers/${s.id}`, {});
      expect(empty.body.data).toMatchObject({ email: 'put2@example.org', firstname: 'Ada', lastname: 'King' });
    });

    it('PUT refuses a taken or blacklisted email, a null email and bad fields', async () => {
      const a = await create({ email: 'owner@example.org' });
      const b = await create({ email: 'mover@example.org' });
      const taken = await server.api.put(`/api/v1/subscribers/${b.id}`, { email: 'Owner@example.org' });
      expect(taken.status).toBe(409);
      expect(taken.body).toEqual({
        status: 'error',
        code: 1024,
        message: 'The resource is already existing.',
        errors: [],
        statusCode: 409,
      });
      const same = await server.api.put(`/api/v1/subscribers/${a.id}`, { email: 'owner@example.org' });
      expect(same.status).toBe(200);
      const blocked = await server.api.put(`/api/v1/subscribers/${b.id}`, { email: 'x@spam.example' });
      expect(blocked.body).toEqual(invalidBody({ email: ['The email is blacklisted.'] }));
      const nullEmail = await server.api.put(`/api/v1/subscribers/${b.id}`, { email: null });
      expect(nullEmail.body).toEqual(invalidBody({ email: ['The email field is required.'] }));
      const bad = await server.api.put(`/api/v1/subscribers/${b.id}`, { genderId: '1', birthday: '1990-1-1' });
      expect(bad.body).toEqual(
        invalidBody({
          genderId: ['The genderId must be an integer.'],
          birthday: ['The birthday must be a real date in the format YYYY-MM-DD.'],
        }),
      );
      expect((await server.api.get(`/api/v1/subscribers/${b.id}`)).body.data).toMatchObject({
        email: 'mover@example.org',
        genderId: null,
        birthday: null,
      });
    });

    it('status changes need the advanced permissions: 423/1025 without, success with', async () => {
      const plain = await server.newKey({ name: 'plain', permissions: ['subscribers'] });
      const archiver = await server.newKey({ name: 'archiver', permissions: ['subscribers', 'subscribers_archive'] });
      const reactivator = await server.newKey({
        name: 'reactivator',
        permissions: ['subscribers', 'subscribers_reactivate_unsubscribed'],
      });
      const as = (key: string) => ({ auth: `Bearer ${key}` });
      const s = await create({ email: 'status@example.org' });
      const locked = (permission: string) => ({
        status: 'error',
        code: 1025,
        message: `This status change needs the API key's advanced permission "${permission}".`,
        errors: [],
        statusCode: 423,
      });

      const archive = await server.api.put(`/api/v1/subscribers/${s.id}`, { status: 3 }, as(plain));
      expect(archive.status).toBe(423);
      expect(archive.body).toEqual(locked('Archive'));
      expect((await server.api.get(`/api/v1/subscribers/${s.id}`)).body.data.status).toBe(1);
      const archived = await server.api.put(`/api/v1/subscribers/${s.id}`, { status: 3 }, as(archiver));
      expect(archived.body.data).toMatchObject({ status: 3, statusAddition: 3 });

      // Unsubscribed (3/2) back to ready needs "Reactivate unsubscribed", not "Reactivate manual".
      await server.api.put(`/api/v1/subscribers/${s.id}`, { statusAddition: 2 }, as(plain));
      expect((await server.api.get(`/api/v1/subscribers/${s.id}`)).body.data).toMatchObject({
        status: 3,
        statusAddition: 2,
      });
      const back = await server.api.put(`/api/v1/subscribers/${s.id}`, { status: 1 }, as(archiver));
      expect(back.status).toBe(423);
      expect(back.body).toEqual(locked('Reactivate unsubscribed'));
      const reactivated = await server.api.put(`/api/v1/subscribers/${s.id}`, { status: 1 }, as(reactivator));
      expect(reactivated.status).toBe(200);
      expect(reactivated.body.data).toMatchObject({ status: 1, statusAddition: null });

      // Creating a subscriber archived is archiving too.
      const createdArchived = await server.api.post(
        '/api/v1/subscribers',
        { email: 'born-archived@example.org', status: 3 },
        as(plain),
      );
      expect(createdArchived.status).toBe(423);
      // Ready → not ready needs nothing.
      const pending = await server.api.put(`/api/v1/subscribers/${s.id}`, { status: 2 }, as(plain));
      expect(pending.body.data).toMatchObject({ status: 2, statusAddition: 1 });
    });
  });

  describe('erase', () => {
    it('DELETE erases personal data, keeps a tombstone (204) and the subscriber is gone from the API', async () => {
      const s = await create({
        email: 'erase@example.org',
        firstname: 'Erika',
        lastname: 'Muster',
        phoneNumber: '123',
        optInIp: '192.0.2.1',
        birthday: '1970-01-01',
        customerFields: { [textField]: 'secret' },
        channels: [channelA, channelB],
      });
      const group = await db()
        .insertInto('subscriber_groups')
        .values({
          account_id: server.accountId,
          name: 'erase-group',
          type: 1,
          conditions: null,
          can_edit: 1,
          can_delete: 1,
          can_assign_subscribers: 1,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db()
        .insertInto('subscriber_group_members')
        .values({ group_id: Number(group.id), subscriber_id: s.id, account_id: server.accountId, created_at: now })
        .execute();

      const res = await server.api.delete(`/api/v1/subscribers/${s.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      const row = await db().selectFrom('subscribers').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        email: null,
        firstname: null,
        lastname: null,
        phone_number: null,
        opt_in_ip: null,
        birthday: null,
        deleted_at: expect.any(Number),
        status: 1,
      });
      expect(Number(row.created_at)).toBeGreaterThan(0);
      for (const table of ['subscriber_field_values', 'subscriber_channels', 'subscriber_group_members'] as const) {
        expect(
          await db().selectFrom(table).select('subscriber_id').where('subscriber_id', '=', s.id).execute(),
        ).toHaveLength(0);
      }
      expect((await server.api.get(`/api/v1/subscribers/${s.id}`)).status).toBe(404);
      expect((await server.api.delete(`/api/v1/subscribers/${s.id}`)).status).toBe(404);
      expect((await server.api.put(`/api/v1/subscribers/${s.id}`, { firstname: 'Back' })).status).toBe(404);
      const listed = await server.api.get(`/api/v1/subscribers?limit=1000&search=${q([{ id: s.id }])}`);
      expect(listed.body.meta.pagination.total).toBe(0);
      const all = await server.api.get('/api/v1/subscribers?limit=1000');
      expect(all.body.data.map((x: any) => x.id)).not.toContain(s.id);
      // The address is free again: signing up anew makes a new subscriber.
      const again = await create({ email: 'erase@example.org' });
      expect(again.id).not.toBe(s.id);
    });
  });

  describe('register, unsubscribe, memberships', () => {
    it('register upserts by email with double opt-in and stores the reference', async () => {
      const first = await server.api.post('/api/v1/subscribers/register', {
        email: 'Form@Example.org',
        firstname: 'Fay',
        reference: 'footer-form',
        channelId: channelA,
        status: 1,
      });
      expect(first.status).toBe(201);
      expect(first.body.data).toMatchObject({
        objectType: 'Subscriber',
        email: 'form@example.org',
        status: 2,
        statusAddition: 1,
        reference: 'footer-form',
        channels: [channelA],
        optInSent: true,
        optInSentAt: expect.any(String),
      });
      const row = await db()
        .selectFrom('subscribers')
        .select('reference')
        .where('id', '=', first.body.data.id)
        .executeTakeFirstOrThrow();
      expect(row.reference).toBe('footer-form');
      const mails = () =>
        db().selectFrom('messages').select('id').where('recipient', '=', 'form@example.org').execute();
      expect(await mails()).toHaveLength(1);

      // Still pending: updated (200), channels added, the opt-in mail sent again.
      const second = await server.api.post('/api/v1/subscribers/register', {
        email: 'form@example.org',
        lastname: 'Form',
        channelId: channelB,
      });
      expect(second.status).toBe(200);
      expect(second.body.data).toMatchObject({
        id: first.body.data.id,
        firstname: 'Fay',
        lastname: 'Form',
        status: 2,
        channels: [channelA, channelB].sort((a, b) => a - b),
      });
      expect(await mails()).toHaveLength(2);

      // A ready subscriber stays ready and gets no mail.
      const ready = await create({ email: 'ready-form@example.org' });
      const third = await server.api.post('/api/v1/subscribers/register', {
        email: 'ready-form@example.org',
        reference: 'popup',
      });
      expect(third.status).toBe(200);
      expect(third.body.data).toMatchObject({ id: ready.id, status: 1, statusAddition: null, reference: 'popup' });
      expect(
        await db().selectFrom('messages').select('id').where('recipient', '=', 'ready-form@example.org').execute(),
      ).toHaveLength(0);

      const invalid = await server.api.post('/api/v1/subscribers/register', { email: 'nope', channelId: 999999 });
      expect(invalid.body).toEqual(
        invalidBody({
          email: ['The email must be a valid email address.'],
          channelId: ['The channelId must be a channel id of this account.'],
        }),
      );
      const blocked = await server.api.post('/api/v1/subscribers/register', { email: 'blocked@example.com' });
      expect(blocked.body).toEqual(invalidBody({ email: ['The email is blacklisted.'] }));
    });

    it('register on an unsubscribed address needs "Reactivate unsubscribed"', async () => {
      const s = await create({ email: 'gone@example.org', channels: [channelA] });
      await server.api.post(`/api/v1/subscribers/${s.id}/unsubscribe`, {});
      const plain = await server.newKey({ name: 'plain-register', permissions: ['subscribers'] });
      const refused = await server.api.post(
        '/api/v1/subscribers/register',
        { email: 'gone@example.org' },
        { auth: `Bearer ${plain}` },
      );
      expect(refused.status).toBe(423);
      expect(refused.body.code).toBe(1025);
      const allowed = await server.api.post('/api/v1/subscribers/register', { email: 'gone@example.org' });
      expect(allowed.body.data).toMatchObject({ status: 2, statusAddition: 1 });
    });

    it('unsubscribes from one channel, archives when none is left, or from all at once', async () => {
      const s = await create({ email: 'unsub@example.org', channels: [channelA, channelB] });
      const one = await server.api.post(`/api/v1/subscribers/${s.id}/unsubscribe`, { channelId: channelA });
      expect(one.status).toBe(200);
      expect(one.body.data).toMatchObject({ objectType: 'Subscriber', status: 1, channels: [channelB] });
      const last = await server.api.post(`/api/v1/subscribers/${s.id}/unsubscribe`, { channelId: channelB });
      expect(last.body.data).toMatchObject({ status: 3, statusAddition: 2, channels: [] });

      const t = await create({ email: 'unsub-all@example.org', channels: [channelA, channelB] });
      const all = await server.api.request('POST', `/api/v1/subscribers/${t.id}/unsubscribe`);
      expect(all.status).toBe(200);
      expect(all.body.data).toMatchObject({ status: 3, statusAddition: 2, channels: [] });

      const unknownChannel = await server.api.post(`/api/v1/subscribers/${t.id}/unsubscribe`, { channelId: 999999 });
      expect(unknownChannel.body).toEqual(
        invalidBody({ channelId: ['The channelId must be a channel id of this account.'] }),
      );
      const badType = await server.api.post(`/api/v1/subscribers/${t.id}/unsubscribe`, { channelId: 'A' });
      expect(badType.status).toBe(422);
      expect(badType.body).toMatchObject({ code: 1002, errors: { channelId: [expect.any(String)] } });
    });

    it('lists memberships as SubscriberGroup objects, and includes groups and channels on request', async () => {
      const s = await create({ email: 'member@example.org', channels: [channelA] });
      const t = await create({ email: 'member2@example.org' });
      const group = async (name: string, type: number, conditions: string | null = null) =>
        Number(
          (
            await db()
              .insertInto('subscriber_groups')
              .values({
                account_id: server.accountId,
                name,
                type,
                conditions,
                can_edit: 1,
                can_delete: 0,
                can_assign_subscribers: 1,
                created_at: now,
                updated_at: now,
              })
              .returning('id')
              .executeTakeFirstOrThrow()
          ).id,
        );
      const g1 = await group('VIP', 1);
      const g2 = await group('CRM', 3);
      await group('Dynamic', 2, '[{"city":"Berlin"}]');
      await db()
        .insertInto('subscriber_group_members')
        .values([
          { group_id: g1, subscriber_id: s.id, account_id: server.accountId, created_at: now },
          { group_id: g2, subscriber_id: s.id, account_id: server.accountId, created_at: now },
          { group_id: g1, subscriber_id: t.id, account_id: server.accountId, created_at: now },
        ])
        .execute();

      const res = await server.api.get(`/api/v1/subscribers/${s.id}/subscriberGroups`);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([
        {
          objectType: 'SubscriberGroup',
          id: g1,
          name: 'VIP',
          type: 1,
          conditions: null,
          canEdit: true,
          canDelete: false,
          canAssignSubscribers: true,
          subscriberCount: 2,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
        {
          objectType: 'SubscriberGroup',
          id: g2,
          name: 'CRM',
          type: 3,
          conditions: null,
          canEdit: true,
          canDelete: false,
          canAssignSubscribers: true,
          subscriberCount: 1,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ]);
      expect(res.body.meta.pagination).toMatchObject({
        total: 2,
        count: 2,
        perPage: 10,
        currentPage: 1,
        totalPages: 1,
      });
      const paged = await server.api.get(`/api/v1/subscribers/${s.id}/subscriberGroups?limit=1&page=2`);
      expect(paged.body.data.map((g: any) => g.id)).toEqual([g2]);

      const withIncludes = await server.api.get(`/api/v1/subscribers/${s.id}?include=subscriberGroups,channels`);
      expect(withIncludes.body.data.subscriberGroups.data.map((g: any) => g.name)).toEqual(['VIP', 'CRM']);
      expect(withIncludes.body.data.channels).toEqual({
        data: [expect.objectContaining({ objectType: 'Channel', id: channelA, name: 'Weekly' })],
      });
      const listed = await server.api.get(
        `/api/v1/subscribers?include=subscriberGroups&search=${q([{ email: ['member@example.org', 'member2@example.org'] }])}`,
      );
      expect(listed.body.data.map((x: any) => x.subscriberGroups.data.map((g: any) => g.id))).toEqual([[g1, g2], [g1]]);
      expect(listed.body.data[0].channels).toEqual([channelA]);
      const badInclude = await server.api.get(`/api/v1/subscribers?include=passwords`);
      expect(badInclude.body).toEqual(
        invalidBody({
          include: ["include[0]: 'passwords' cannot be included. Available: subscriberGroups, channels."],
        }),
      );
    });
  });

  describe('list grammar', () => {
    let list: ApiClient;
    let accountId: string;
    let colour: number;
    let points: number;
    const ids: Record<string, number> = {};
    const emails = (res: any) => res.body.data.map((s: any) => s.email.split('@')[0]);
    const search = async (s: unknown, extra = '') => {
      const res = await list.get(`/api/v1/subscribers?limit=1000&search=${q(s)}${extra}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return emails(res);
    };

    beforeAll(async () => {
      const account = await server.newAccount();
      list = account.api;
      accountId = account.accountId;
      colour = await addField(accountId, 1);
      points = await addField(accountId, 2);
      const people = [
        {
          email: 'anna@list.example',
          firstname: 'Anna',
          lastname: 'Zeller',
          genderId: 2,
          languageIso: 'de',
          city: 'Berlin',
          postcode: '10115',
          birthday: '1990-05-01',
          customerFields: { [colour]: 'gold', [points]: 5 },
        },
        {
          email: 'bernd@list.example',
          firstname: 'Bernd',
          lastname: 'Yilmaz',
          genderId: 1,
          languageIso: 'de',
          city: 'Hamburg',
          postcode: '20095',
          birthday: '1985-01-01',
          customerFields: { [colour]: 'silver', [points]: 10 },
        },
        {
          email: 'carla@other.example',
          firstname: 'Carla',
          lastname: 'Xu',
          genderId: 2,
          languageIso: 'en',
          city: 'Berlin',
          postcode: '10117',
          customerFields: { [colour]: 'gold', [points]: 15 },
        },
        {
          email: 'dieter@other.example',
          firstname: 'Dieter',
          genderId: 1,
          languageIso: 'en',
          city: 'München',
          postcode: '80331',
          birthday: '2000-12-31',
          customerFields: { [points]: 20 },
        },
        { email: 'eva@list.example', firstname: 'Eva', lastname: 'Weber', genderId: 3, sendOptIn: true },
        { email: 'o-brien@list.example', firstname: "O'Brien", lastname: 'Adams', city: 'Köln' },
      ];
      for (const p of people) ids[p.email.split('@')[0]!] = (await create(p, list)).id;
    });

    it('filters with =, like, <, <=, >, >= and null', async () => {
      expect(await search([{ languageIso: 'de' }])).toEqual(['anna', 'bernd']);
      expect(await search([{ email: { condition: 'like', value: '%@LIST.example' } }])).toEqual([
        'anna',
        'bernd',
        'eva',
        'o-brien',
      ]);
      expect(await search([{ firstname: { condition: 'like', value: "o'%" } }])).toEqual(['o-brien']);
      expect(await search([{ birthday: { condition: '<', value: '1990-05-01' } }])).toEqual(['bernd']);
      expect(await search([{ birthday: { condition: '<=', value: '1990-05-01' } }])).toEqual(['anna', 'bernd']);
      expect(await search([{ birthday: { condition: '>', value: '1990-05-01' } }])).toEqual(['dieter']);
      expect(await search([{ birthday: { condition: '>=', value: '1985-01-01' } }])).toEqual([
        'anna',
        'bernd',
        'dieter',
      ]);
      expect(await search([{ lastname: null }])).toEqual(['dieter']);
      expect(await search([{ status: 2 }])).toEqual(['eva']);
      expect(await search([{ id: ids.carla }])).toEqual(['carla']);
      expect(await search([{ createdAt: { condition: '>=', value: '2000-01-01 00:00:00' } }])).toHaveLength(6);
      expect(await search([{ createdAt: { condition: '<', value: '2000-01-01 00:00:00' } }])).toEqual([]);
    });

    it('ORs the values of one field and ANDs fields and objects', async () => {
      expect(await search([{ genderId: [1, 3] }])).toEqual(['bernd', 'dieter', 'eva']);
      expect(await search([{ city: 'Berlin', genderId: 2 }])).toEqual(['anna', 'carla']);
      expect(await search([{ city: 'Berlin' }, { languageIso: 'en' }])).toEqual(['carla']);
      expect(await search([{ city: ['Berlin', 'Hamburg'] }, { genderId: [1, { condition: '>', value: 2 }] }])).toEqual([
        'bernd',
      ]);
      expect(
        await search([
          {
            email: [
              { condition: 'like', value: 'a%' },
              { condition: 'like', value: 'd%' },
            ],
          },
          { languageIso: 'en' },
        ]),
      ).toEqual(['dieter']);
    });

    it('filters on custom fields (customerFields.<id>) by their type', async () => {
      expect(await search([{ [`customerFields.${colour}`]: 'gold' }])).toEqual(['anna', 'carla']);
      expect(await search([{ [`customerFields.${colour}`]: null }])).toEqual(['dieter', 'eva', 'o-brien']);
      expect(await search([{ [`customerFields.${points}`]: { condition: '>=', value: 15 } }])).toEqual([
        'carla',
        'dieter',
      ]);
      expect(await search([{ [`customerFields.${points}`]: { condition: '<', value: '10' } }])).toEqual(['anna']);
      expect(
        await search([{ [`customerFields.${colour}`]: { condition: 'like', value: 'sil%' } }, { languageIso: 'de' }]),
      ).toEqual(['bernd']);
      const notNumber = await list.get(`/api/v1/subscribers?search=${q([{ [`customerFields.${points}`]: 'lots' }])}`);
      expect(notNumber.body).toEqual(
        invalidBody({ search: [`search[0].customerFields.${points}: must be an integer.`] }),
      );
      // Another account's field is unknown here.
      const foreign = await list.get(`/api/v1/subscribers?search=${q([{ [`customerFields.${textField}`]: 'gold' }])}`);
      expect(foreign.body).toEqual(
        invalidBody({
          search: [`search[0].customerFields.${textField}: there is no customer field with id ${textField}.`],
        }),
      );
    });

    it('sorts on several keys, NULLs first ascending and last descending', async () => {
      const sorted = async (s: unknown) => emails(await list.get(`/api/v1/subscribers?limit=1000&sorting=${q(s)}`));
      expect(await sorted([{ lastname: 'asc' }])).toEqual(['dieter', 'o-brien', 'eva', 'carla', 'bernd', 'anna']);
      expect(await sorted([{ lastname: 'desc' }])).toEqual(['anna', 'bernd', 'carla', 'eva', 'o-brien', 'dieter']);
      expect(await sorted([{ genderId: 'desc' }, { email: 'asc' }])).toEqual([
        'eva',
        'anna',
        'carla',
        'bernd',
        'dieter',
        'o-brien',
      ]);
      expect(await sorted([{ city: 'asc' }, { firstname: 'desc' }])).toEqual([
        'eva',
        'carla',
        'anna',
        'bernd',
        'o-brien',
        'dieter',
      ]);
      expect(await sorted([{ birthday: 'desc' }])).toEqual(['dieter', 'anna', 'bernd', 'carla', 'eva', 'o-brien']);
      expect(await sorted([])).toEqual(['anna', 'bernd', 'carla', 'dieter', 'eva', 'o-brien']);
      expect(await sorted([{ createdAt: 'desc' }, { id: 'desc' }])).toEqual([
        'o-brien',
        'eva',
        'dieter',
        'carla',
        'bernd',
        'anna',
      ]);
    });

    it('pages: arithmetic, the last page, an empty page beyond the end, limit 1000 and 1001', async () => {
      const publicUrl = server.app.ctx.config.publicUrl;
      const first = await list.get('/api/v1/subscribers?limit=4');
      expect(first.body.meta.pagination).toEqual({
        total: 6,
        count: 4,
        perPage: 4,
        currentPage: 1,
        totalPages: 2,
        links: { next: `${publicUrl}/api/v1/subscribers?limit=4&page=2`, previous: '' },
      });
      const last = await list.get('/api/v1/subscribers?limit=4&page=2');
      expect(emails(last)).toEqual(['eva', 'o-brien']);
      expect(last.body.meta.pagination).toEqual({
        total: 6,
        count: 2,
        perPage: 4,
        currentPage: 2,
        totalPages: 2,
        links: { next: '', previous: `${publicUrl}/api/v1/subscribers?limit=4&page=1` },
      });
      const beyond = await list.get('/api/v1/subscribers?limit=4&page=3');
      expect(beyond.status).toBe(200);
      expect(beyond.body.data).toEqual([]);
      expect(beyond.body.meta.pagination).toMatchObject({
        total: 6,
        count: 0,
        perPage: 4,
        currentPage: 3,
        totalPages: 2,
        links: { next: '' },
      });
      const defaults = await list.get('/api/v1/subscribers');
      expect(defaults.body.meta.pagination).toMatchObject({
        total: 6,
        count: 6,
        perPage: 10,
        currentPage: 1,
        totalPages: 1,
      });
      expect(defaults.body.data.every((s: any) => s.objectType === 'Subscriber')).toBe(true);
      const filtered = await list.get(`/api/v1/subscribers?limit=1&page=2&search=${q([{ languageIso: 'de' }])}`);
      expect(emails(filtered)).toEqual(['bernd']);
      expect(filtered.body.meta.pagination).toMatchObject({ total: 2, count: 1, totalPages: 2 });

      expect((await list.get('/api/v1/subscribers?limit=1000')).status).toBe(200);
      const over = await list.get('/api/v1/subscribers?limit=1001');
      expect(over.status).toBe(422);
      expect(over.body).toEqual({
        status: 'error',
        code: 1002,
        message: 'limit: must be a whole number from 1 to 1000.',
        errors: { limit: ['limit: must be a whole number from 1 to 1000.'] },
        statusCode: 422,
      });
      for (const bad of ['limit=0', 'limit=ten', 'page=0', 'page=-1', 'page=1.5']) {
        const res = await list.get(`/api/v1/subscribers?${bad}`);
        expect(res.status, bad).toBe(422);
        expect(res.body.code).toBe(1002);
      }
    });

    it('refuses injection attempts in search and sorting with 422 and changes nothing', async () => {
      const before = await snapshot();
      const attempts: Array<[string, string]> = [
        [`search=${q([{ "email' OR '1'='1": 'x' }])}`, 'search'],
        [`search=${q([{ 'email; DROP TABLE subscribers; --': 'x' }])}`, 'search'],
        [`search=${q([{ email: { condition: '= 1 OR 1=1 --', value: 'x' } }])}`, 'search'],
        [`search=${q([{ email: { condition: 'like', value: 'x', extra: 'DROP TABLE subscribers' } }])}`, 'search'],
        [`search=${encodeURIComponent('[{"__proto__":{"isAdmin":true}}]')}`, 'search'],
        [`search=${q([{ constructor: 'x' }])}`, 'search'],
        [`search=${q([{ 'subscribers.account_id': 'x' }])}`, 'search'],
        [`search=${q([{ account_id: 'x' }])}`, 'search'],
        [`search=${q([{ email: { condition: 'like', value: { $ne: null } } }])}`, 'search'],
        [`search=${'['.repeat(5000)}${']'.repeat(5000)}`, 'search'],
        [`search=${q([{ email: { condition: { condition: { condition: 'like' } }, value: 'x' } }])}`, 'search'],
        [`search=${q([{ email: 'x'.repeat(12_000) }])}`, 'search'],
        [`search=${encodeURIComponent("'; DELETE FROM subscribers; --")}`, 'search'],
        [`sorting=${q([{ 'email; DROP TABLE subscribers': 'asc' }])}`, 'sorting'],
        [`sorting=${q([{ email: 'asc; DELETE FROM subscribers' }])}`, 'sorting'],
        [`sorting=${q([{ '(select 1)': 'asc' }])}`, 'sorting'],
        [`sorting=${encodeURIComponent('[{"__proto__":"asc"}]')}`, 'sorting'],
        [`sorting=${q([{ email: 'asc', id: 'desc' }])}`, 'sorting'],
        [`sorting=${q([{ email: { asc: 1 } }])}`, 'sorting'],
        [`sorting=${'{'.repeat(3000)}`, 'sorting'],
      ];
      for (const [query, param] of attempts) {
        for (const path of ['/api/v1/subscribers', '/api/v1/subscribers/export']) {
          const res = await list.get(`${path}?${query}`);
          expect(res.status, `${path}?${query.slice(0, 80)}`).toBe(422);
          expect(res.body).toMatchObject({
            status: 'error',
            code: 1002,
            message: res.body.errors[param][0],
            errors: { [param]: [expect.any(String)] },
            statusCode: 422,
          });
          expect(res.text.length).toBeLessThan(2000); // a long key is not echoed back in full
        }
      }
      // Quotes and SQL in a value are just a value: bound, matching nothing.
      expect(await search([{ email: "' OR '1'='1" }])).toEqual([]);
      expect(await search([{ lastname: { condition: 'like', value: "%'; DROP TABLE subscribers; --%" } }])).toEqual([]);
      // A 1 MB value in the URL reaches the grammar and gets the dialect's 422, not echoed back.
      for (const hugeSearch of [[{ email: 'x'.repeat(1024 * 1024) }], [{ ['k'.repeat(1024 * 1024)]: 1 }]]) {
        const huge = await list.get(`/api/v1/subscribers?search=${q(hugeSearch)}`);
        expect(huge.status).toBe(422);
        expect(huge.body).toMatchObject({
          status: 'error',
          code: 1002,
          message: huge.body.errors.search[0],
          errors: { search: [expect.any(String)] },
          statusCode: 422,
        });
        expect(huge.text.length).toBeLessThan(2000);
      }
      expect(await snapshot()).toEqual(before);
      expect((await list.get('/api/v1/subscribers')).body.meta.pagination.total).toBe(6);
    });

    it('names unknown fields and conditions in the error body', async () => {
      const unknown = await list.get(`/api/v1/subscribers?search=${q([{ password: 'x' }])}`);
      expect(unknown.status).toBe(422);
      expect(unknown.body.errors.search[0]).toMatch(
        /^search\[0\]\.password: 'password' is not a filterable field\. Filterable fields: id, email, /,
      );
      const condition = await list.get(
        `/api/v1/subscribers?search=${q([{ genderId: { condition: 'like', value: '1' } }])}`,
      );
      expect(condition.body).toEqual(
        invalidBody({
          search: [
            "search[0].genderId.condition: condition 'like' is not allowed for genderId; allowed: =, >, >=, <, <=.",
          ],
        }),
      );
      const notJson = await list.get('/api/v1/subscribers?search=%7Bnope');
      expect(notJson.body).toEqual(invalidBody({ search: ['search: is not valid JSON.'] }));
      const sortField = await list.get(`/api/v1/subscribers?sorting=${q([{ phoneNumber: 'asc' }])}`);
      expect(sortField.body.errors.sorting[0]).toMatch(
        /^sorting\[0\]\.phoneNumber: 'phoneNumber' is not a sortable field\./,
      );
    });
  });

  describe('export', () => {
    let api: ApiClient;
    let colour: number;
    let hidden: number;
    let flag: number;
    let listChannel: number;

    beforeAll(async () => {
      const account = await server.newAccount();
      api = account.api;
      colour = await addField(account.accountId, 1);
      hidden = await addField(account.accountId, 1, 0);
      flag = await addField(account.accountId, 4);
      listChannel = await addChannel(account.accountId, 'List');
      const tricky = [
        {
          email: 'quote@x.example',
          firstname: 'Say "hi", ok',
          lastname: 'Comma, Inc',
          optInComment: 'line one\r\nline two',
          customerFields: { [colour]: 'a,b', [hidden]: 'secret', [flag]: true },
          channels: [listChannel],
        },
        {
          email: 'formula@x.example',
          firstname: '=HYPERLINK("http://evil.example","click")',
          lastname: '@SUM(A1)',
          phoneNumber: '+49 30 1234',
          city: '-negative',
          customerFields: { [colour]: '+cmd|calc', [flag]: false },
        },
        { email: 'plain@y.example', firstname: 'Plain', lastname: 'Person', genderId: 1, birthday: '1999-09-09' },
        { email: 'umlaut@x.example', firstname: 'Jürgen', lastname: 'Größe', city: 'Zürich' },
      ];
      for (const s of tricky) await create(s, api);
      // Enough rows for three keyset pages, with ties and NULLs in the sort key.
      const many = Array.from({ length: 2100 }, (_, i) => ({
        email: `bulk${i}@x.example`,
        lastname: i % 7 === 0 ? null : `L${i % 13}`,
        genderId: (i % 3) + 1,
      }));
      for (let i = 0; i < many.length; i += 1000)
        expect((await api.post('/api/v1/subscribers/bulk', many.slice(i, i + 1000))).body.meta.failed).toBe(0);
    });

    async function listAll(query: string): Promise<any[]> {
      const out: any[] = [];
      for (let page = 1; ; page++) {
        const res = await api.get(`/api/v1/subscribers?limit=1000&page=${page}&${query}`);
        out.push(...res.body.data);
        if (page >= res.body.meta.pagination.totalPages) return out;
      }
    }

    it('streams NDJSON equal to the filtered, sorted list across keyset pages', async () => {
      for (const query of [
        '',
        `sorting=${q([{ lastname: 'desc' }, { genderId: 'asc' }])}`,
        `search=${q([{ email: { condition: 'like', value: '%@x.example' } }])}&sorting=${q([{ lastname: 'asc' }])}`,
      ]) {
        const res = await api.get(`/api/v1/subscribers/export?format=ndjson&${query}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('application/x-ndjson');
        const lines = res.text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        const expected = await listAll(query);
        expect(lines.length).toBeGreaterThan(2000);
        // The export shows only the fields available for export.
        for (const e of expected) delete e.customerFields[String(hidden)];
        expect(lines).toEqual(expected);
      }
    });

    it('streams CSV with a header, RFC 4180 quoting, custom field columns and defused formulas', async () => {
      const query = `search=${q([{ email: { condition: 'like', value: '%@%.example' } }, { lastname: { condition: 'like', value: '%' } }])}&sorting=${q([{ email: 'asc' }])}`;
      const res = await api.get(`/api/v1/subscribers/export?format=csv&${query}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="subscribers.csv"');
      const rows = parseCsv(res.text);
      const header = rows[0]!;
      expect(header).toEqual([
        'id',
        'email',
        'status',
        'statusAddition',
        'genderId',
        'languageIso',
        'title',
        'firstname',
        'lastname',
        'company',
        'street',
        'postcode',
        'city',
        'phoneNumber',
        'birthday',
        'optInComment',
        'optInSent',
        'optInSentAt',
        'optInConfirmedAt',
        'optInIp',
        'channels',
        'createdAt',
        'updatedAt',
        `customerFields.${colour}`,
        `customerFields.${flag}`,
      ]);
      const expected = await listAll(query);
      expect(rows.length - 1).toBe(expected.length);
      const cell = (v: unknown) => (v === null ? '' : Array.isArray(v) ? v.join(';') : String(v));
      for (let i = 0; i < expected.length; i++) {
        const e = expected[i];
        const row = Object.fromEntries(header.map((h, j) => [h, rows[i + 1]![j]]));
        if (e.email === 'formula@x.example') continue; // checked below
        for (const h of header) {
          const value = h.startsWith('customerFields.') ? e.customerFields[h.slice('customerFields.'.length)] : e[h];
          expect(row[h], `${e.email} ${h}`).toBe(cell(value));
        }
      }
      const byEmail = new Map(rows.slice(1).map((r) => [r[1], Object.fromEntries(header.map((h, j) => [h, r[j]]))]));
      expect(byEmail.get('quote@x.example')).toMatchObject({
        firstname: 'Say "hi", ok',
        lastname: 'Comma, Inc',
        optInComment: 'line one\r\nline two',
        [`customerFields.${colour}`]: 'a,b',
        [`customerFields.${flag}`]: 'true',
      });
      expect(byEmail.get('formula@x.example')).toMatchObject({
        firstname: `'=HYPERLINK("http://evil.example","click")`,
        lastname: "'@SUM(A1)",
        city: "'-negative",
        phoneNumber: '+49 30 1234',
        [`customerFields.${colour}`]: "'+cmd|calc",
        [`customerFields.${flag}`]: 'false',
      });
      expect(byEmail.get('umlaut@x.example')).toMatchObject({ firstname: 'Jürgen', lastname: 'Größe', city: 'Zürich' });
      expect(res.text).toContain('"Say ""hi"", ok"');
      expect(res.text).not.toContain('secret');
    });

    it('exports CSV by default, refuses an unknown format and excludes erased subscribers', async () => {
      const s = await create({ email: 'leaving@x.example' }, api);
      await api.delete(`/api/v1/subscribers/${s.id}`);
      const res = await api.get(
        `/api/v1/subscribers/export?search=${q([{ email: { condition: 'like', value: 'l%' } }])}`,
      );
      expect(res.headers.get('content-type')).toContain('text/csv');
      expect(parseCsv(res.text)).toHaveLength(1); // the header only
      const bad = await api.get('/api/v1/subscribers/export?format=xml');
      expect(bad.body).toEqual(invalidBody({ format: ['The format must be csv or ndjson.'] }));
    });
  });
});
