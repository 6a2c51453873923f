// POST /api/v1/subscribers/bulk: per-item results, upsert by email, the 1,000-item limit, and
// 100 requests of 1,000 subscribers (100,000 in all) through real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { insertChannel, insertCustomerField } from '../helpers/marketing-rows.ts';

describe(`subscriber bulk upsert (${dialectName})`, () => {
  let server: TestServer;
  let textField: number;
  let intField: number;
  let channelA: number;
  let channelB: number;

  const db = () => server.app.ctx.db;
  const countSubscribers = async (accountId = server.accountId) =>
    Number(
      (
        await db()
          .selectFrom('subscribers')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('account_id', '=', accountId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    server = await startTestServer();
    const now = Date.now();
    const field = (type: number) => insertCustomerField(db(), server.accountId, type, { now });
    const channel = (name: string) => insertChannel(db(), server.accountId, { name }, now);
    textField = await field(1);
    intField = await field(2);
    channelA = await channel('A');
    channelB = await channel('B');
    await db()
      .insertInto('blacklist')
      .values({ account_id: server.accountId, pattern: '*@blocked.example', created_at: now })
      .execute();
  });
  afterAll(async () => server?.close());

  it('answers each item on its own: good items are stored, bad ones are error results', async () => {
    const existing = await server.api.post('/api/v1/subscribers', {
      email: 'old@mix.example',
      firstname: 'Old',
      lastname: 'Keep',
    });
    expect(existing.status).toBe(201);
    const before = await countSubscribers();
    const res = await server.api.post('/api/v1/subscribers/bulk', {
      subscribers: [
        {
          email: 'New1@Mix.example',
          firstname: 'New',
          customerFields: { [textField]: 'hello', [intField]: 7 },
          channels: [channelA],
        },
        { email: 'not-an-email', firstname: 'Bad' },
        { email: 'old@mix.example', firstname: 'Changed' },
        'just a string',
        { email: 'x@blocked.example' },
        { email: 'cf@mix.example', customerFields: { [intField]: 'seven' } },
        { email: 'dup@mix.example', firstname: 'First', lastname: 'One' },
        { email: 'dup@mix.example', firstname: 'Second' },
        { email: 'st@mix.example', status: 2, statusAddition: 4 },
        { firstname: 'no email' },
      ],
    });
    expect(res.status).toBe(200);
    const results = res.body.data;
    expect(results).toHaveLength(10);
    expect(results.map((r: any) => r.status)).toEqual([
      'created',
      'error',
      'updated',
      'error',
      'error',
      'error',
      'created',
      'updated',
      'error',
      'error',
    ]);
    expect(results.map((r: any) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results[0]).toEqual({ index: 0, id: expect.any(Number), status: 'created', errors: [] });
    expect(results[1].errors).toEqual({ email: ['The email must be a valid email address.'] });
    expect(results[2].id).toBe(existing.body.data.id);
    expect(results[3].errors).toEqual({ subscriber: ['The subscriber must be an object.'] });
    expect(results[4].errors).toEqual({ email: ['The email is blacklisted.'] });
    expect(results[5].errors).toEqual({
      [`customerFields.${intField}`]: [`The customerFields.${intField} must be an integer.`],
    });
    expect(results[6].id).toBe(results[7].id);
    expect(Object.keys(results[8].errors)).toEqual(['statusAddition']);
    expect(results[9].errors).toEqual({ email: ['The email field is required.'] });
    expect(res.body.meta).toEqual({ created: 2, updated: 2, failed: 6 });
    expect(await countSubscribers()).toBe(before + 2);

    const created = (await server.api.get(`/api/v1/subscribers/${results[0].id}`)).body.data;
    expect(created).toMatchObject({
      email: 'new1@mix.example',
      firstname: 'New',
      status: 1,
      statusAddition: null,
      customerFields: { [textField]: 'hello', [intField]: 7 },
      channels: [channelA],
    });
    const updated = (await server.api.get(`/api/v1/subscribers/${existing.body.data.id}`)).body.data;
    expect(updated).toMatchObject({ firstname: 'Changed', lastname: 'Keep' }); // unsent fields are kept
    // Items repeating an email apply in order: the later value wins per field, earlier fields stay.
    const dup = (await server.api.get(`/api/v1/subscribers/${results[6].id}`)).body.data;
    expect(dup).toMatchObject({ firstname: 'Second', lastname: 'One' });
  });

  it('accepts a bare array, replaces channels, clears custom values with null', async () => {
    const first = await server.api.post('/api/v1/subscribers/bulk', [
      { email: 'arr@mix.example', channels: [channelA, channelB], customerFields: { [textField]: 'x', [intField]: 1 } },
    ]);
    expect(first.status).toBe(200);
    const id = first.body.data[0].id;
    const second = await server.api.post('/api/v1/subscribers/bulk', [
      { email: 'arr@mix.example', channels: [channelB], customerFields: { [textField]: null } },
    ]);
    expect(second.body.data[0]).toEqual({ index: 0, id, status: 'updated', errors: [] });
    const s = (await server.api.get(`/api/v1/subscribers/${id}`)).body.data;
    expect(s.channels).toEqual([channelB]);
    expect(s.customerFields).toEqual({ [textField]: null, [intField]: 1 });
  });

  it('refuses more than 1,000 items with 413 and a body that is no list with 422', async () => {
    const items = Array.from({ length: 1001 }, (_, i) => ({ email: `over${i}@limit.example` }));
    const before = await countSubscribers();
    const res = await server.api.post('/api/v1/subscribers/bulk', { subscribers: items });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      status: 'error',
      code: 1002,
      message: 'At most 1000 subscribers per request; send several requests.',
      errors: { subscribers: ['At most 1000 subscribers per request; send several requests.'] },
      statusCode: 413,
    });
    expect(await countSubscribers()).toBe(before);
    const notList = await server.api.post('/api/v1/subscribers/bulk', { subscribers: 'many' });
    expect(notList.status).toBe(422);
    expect(notList.body).toEqual({
      status: 'error',
      code: 1002,
      message: 'The body must be {"subscribers":[…]} or an array of subscribers.',
      errors: { subscribers: ['The body must be {"subscribers":[…]} or an array of subscribers.'] },
      statusCode: 422,
    });
    const exactly = await server.api.post('/api/v1/subscribers/bulk', items.slice(0, 1000));
    expect(exactly.status).toBe(200);
    expect(exactly.body.meta).toEqual({ created: 1000, updated: 0, failed: 0 });
  });

  it('reports a status change the key may not make as an item error', async () => {
    const key = await server.newKey({ name: 'plain', permissions: ['subscribers'] });
    await server.api.post('/api/v1/subscribers', { email: 'ready@perm.example' });
    const res = await server.api.post(
      '/api/v1/subscribers/bulk',
      [{ email: 'ready@perm.example', status: 3 }, { email: 'fine@perm.example' }],
      { auth: `Bearer ${key}` },
    );
    expect(res.body.data[0]).toEqual({
      index: 0,
      id: null,
      status: 'error',
      errors: { status: ['This status change needs the API key\'s advanced permission "Archive".'] },
    });
    expect(res.body.data[1].status).toBe('created');
  });

  it('upserts 100 requests of 1,000 subscribers (100,000 in all) correctly', { timeout: 120_000 }, async () => {
    const { accountId, api } = await server.newAccount();
    const now = Date.now();
    const fieldId = Number(
      (
        await db()
          .insertInto('customer_fields')
          .values({
            account_id: accountId,
            field_type: 1,
            type: 2,
            is_available_for_import: 1,
            is_available_for_export: 1,
            is_editable: 1,
            translations: '{}',
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
    const channelId = Number(
      (
        await db()
          .insertInto('channels')
          .values({
            account_id: accountId,
            name: 'Big',
            sender_name: null,
            sender_email: null,
            reply_to: null,
            language_iso: 'de',
            color: null,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
    const item = (n: number, round: number) => ({
      email: `user${n}@big.example`,
      firstname: `First${n}`,
      lastname: round === 0 ? `Last${n}` : `Changed${n}`,
      city: 'Berlin',
      languageIso: n % 2 ? 'de' : 'en',
      genderId: (n % 3) + 1,
      customerFields: { [fieldId]: n * 10 + round },
      channels: [channelId],
    });

    // CPU time too: the server runs in this process, and on a busy machine wall time mostly
    // measures the other processes.
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    for (let r = 0; r < 100; r++) {
      const batch = Array.from({ length: 1000 }, (_, i) => item(r * 1000 + i, 0));
      const res = await api.post('/api/v1/subscribers/bulk', { subscribers: batch });
      expect(res.status).toBe(200);
      expect(res.body.meta).toEqual({ created: 1000, updated: 0, failed: 0 });
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(
      `[bulk ${dialectName}] 100,000 subscribers created in ${seconds.toFixed(1)} s: ${Math.round(100_000 / seconds)} subscribers/s ` +
        `(${cpuSeconds.toFixed(1)} CPU s in this process, client included: ${Math.round(100_000 / cpuSeconds)} subscribers per CPU second)`,
    );

    expect(await countSubscribers(accountId)).toBe(100_000);
    const values = await db()
      .selectFrom('subscriber_field_values')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(Number(values.n)).toBe(100_000);
    const links = await db()
      .selectFrom('subscriber_channels')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(Number(links.n)).toBe(100_000);

    // Re-send 5,000 existing (changed) with 5,000 new ones mixed in.
    const resendStarted = performance.now();
    for (let r = 0; r < 10; r++) {
      const batch = Array.from({ length: 1000 }, (_, i) =>
        i % 2 === 0 ? item(r * 10_000 + i, 1) : item(100_000 + r * 1000 + i, 0),
      );
      const res = await api.post('/api/v1/subscribers/bulk', batch);
      expect(res.status).toBe(200);
      expect(res.body.meta).toEqual({ created: 500, updated: 500, failed: 0 });
    }
    const resendSeconds = (performance.now() - resendStarted) / 1000;
    console.log(
      `[bulk ${dialectName}] 10,000 mixed upserts in ${resendSeconds.toFixed(1)} s: ${Math.round(10_000 / resendSeconds)} subscribers/s`,
    );
    expect(await countSubscribers(accountId)).toBe(105_000);

    // A sample through the API: changed, untouched and new subscribers.
    for (const [n, lastname, value] of [
      [20_000, 'Changed20000', 200_001],
      [20_001, 'Last20001', 200_010],
      [99_999, 'Last99999', 999_990],
      [100_000 + 3 * 1000 + 1, 'Last103001', 1_030_010],
    ] as const) {
      const res = await api.get(
        `/api/v1/subscribers?search=${encodeURIComponent(JSON.stringify([{ email: `user${n}@big.example` }]))}`,
      );
      expect(res.body.meta.pagination.total).toBe(1);
      expect(res.body.data[0]).toMatchObject({
        firstname: `First${n}`,
        lastname,
        city: 'Berlin',
        customerFields: { [fieldId]: value },
        channels: [channelId],
      });
    }
    const changed = await api.get(
      `/api/v1/subscribers?limit=1&search=${encodeURIComponent(JSON.stringify([{ lastname: { condition: 'like', value: 'Changed%' } }]))}`,
    );
    expect(changed.body.meta.pagination.total).toBe(5000);
  });
});
