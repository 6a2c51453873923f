// Customer fields: CRUD, translations, the type lock while values exist, and deletion of values.
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
  search,
} from '../helpers/marketing-fixtures.ts';

describe(`marketing customer fields (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const fresh = async () => server.newAccount();
  const field = async (api: ApiClient, body: Record<string, unknown>) => {
    const res = await api.post('/api/v1/customerFields', body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  };

  it('creates, reads, changes, lists and deletes customer fields', async () => {
    const { api } = await fresh();
    const created = await api.post(
      '/api/v1/customerFields',
      {
        fieldType: 1,
        type: 6,
        isAvailableForExport: false,
        translations: { de: { name: ' Umsatz ', description: 'Jahresumsatz' } },
      },
      { auth: basicAuth(api.key!) },
    );
    expect(created.status).toBe(201);
    const f = created.body.data;
    expect(created.body).toEqual({
      data: {
        objectType: 'CustomerField',
        id: expect.any(Number),
        fieldType: 1,
        type: 6,
        isAvailableForImport: true,
        isAvailableForExport: false,
        isEditable: true,
        translations: { de: { name: 'Umsatz', description: 'Jahresumsatz' }, en: { name: null, description: null } },
        createdAt: expect.stringMatching(DATE_TIME),
        updatedAt: f.createdAt,
      },
    });
    expect((await api.get(`/api/v1/customerFields/${f.id}`)).body).toEqual(created.body);

    // PUT merges translations per language and changes only the fields it sends.
    const changed = await api.put(`/api/v1/customerFields/${f.id}`, {
      isEditable: false,
      translations: { en: { name: 'Revenue' } },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toEqual({
      ...f,
      isEditable: false,
      translations: { de: { name: 'Umsatz', description: 'Jahresumsatz' }, en: { name: 'Revenue', description: null } },
      updatedAt: expect.stringMatching(DATE_TIME),
    });
    // The shape GET returns is accepted back; null removes a language.
    const back = await api.put(`/api/v1/customerFields/${f.id}`, {
      translations: { ...changed.body.data.translations, de: null },
    });
    expect(back.body.data.translations).toEqual({
      de: { name: null, description: null },
      en: { name: 'Revenue', description: null },
    });
    expectValidation(await api.put(`/api/v1/customerFields/${f.id}`, { translations: { en: { name: null } } }), {
      translations: ['The translations must give the field a name in at least one language (de, en).'],
    });

    const account = await field(api, { fieldType: 2, type: 1, translations: { en: { name: 'Plan' } } });
    const mailing = await field(api, {
      fieldType: 3,
      type: 4,
      translations: { de: { name: 'Gutschein' }, en: { name: 'Voucher' } },
    });
    const page = await api.get('/api/v1/customerFields?limit=2');
    expect(page.status).toBe(200);
    expect(page.body.data.map((x: any) => x.id)).toEqual([f.id, account.id]);
    expect(page.body.data[0]).toEqual(back.body.data);
    expect(page.body.meta.pagination).toEqual({
      total: 3,
      count: 2,
      perPage: 2,
      currentPage: 1,
      totalPages: 2,
      links: { next: expect.stringMatching(/\/api\/v1\/customerFields\?limit=2&page=2$/), previous: '' },
    });
    expect(
      (
        await api.get(
          `/api/v1/customerFields?search=${search([{ fieldType: [2, 3] }])}&sorting=${search([{ id: 'desc' }])}`,
        )
      ).body.data.map((x: any) => x.id),
    ).toEqual([mailing.id, account.id]);
    expectValidation(await api.get(`/api/v1/customerFields?search=${search([{ name: 'Plan' }])}`), {
      search: [
        "search[0].name: 'name' is not a filterable field. Filterable fields: id, fieldType, type, createdAt, updatedAt.",
      ],
    });

    expect((await api.delete(`/api/v1/customerFields/${account.id}`)).status).toBe(204);
    expectNotFound(await api.get(`/api/v1/customerFields/${account.id}`), 'Customer field not found');
    expectNotFound(await api.delete(`/api/v1/customerFields/${account.id}`), 'Customer field not found');
    expectNotFound(
      await api.put(`/api/v1/customerFields/${account.id}`, { isEditable: true }),
      'Customer field not found',
    );
  });

  it('validates fieldType, type and translations', async () => {
    const { api } = await fresh();
    const t = { de: { name: 'Feld' } };
    expectValidation(await api.post('/api/v1/customerFields', { type: 1, translations: t }), {
      fieldType: ['The fieldType field is required.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 1, translations: t }), {
      type: ['The type field is required.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 1, type: 1 }), {
      translations: ['The translations field is required.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 4, type: 1, translations: t }), {
      fieldType: ['The selected fieldType is invalid.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 1, type: 7, translations: t }), {
      type: ['The selected type is invalid.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 1, type: '1', translations: t }), {
      type: ['The type must be an integer.'],
    });
    expectValidation(await api.post('/api/v1/customerFields', { fieldType: 1, type: 1, translations: {} }), {
      translations: ['The translations must give the field a name in at least one language (de, en).'],
    });
    expectValidation(
      await api.post('/api/v1/customerFields', { fieldType: 1, type: 1, translations: { de: { name: '  ' } } }),
      { translations: ['The translations must give the field a name in at least one language (de, en).'] },
    );
    expectValidation(
      await api.post('/api/v1/customerFields', { fieldType: 1, type: 1, translations: { fr: { name: 'Champ' } } }),
      { 'translations.fr': ["The translations.fr is not one of the account's languages (de, en)."] },
    );
    expectValidation(
      await api.post('/api/v1/customerFields', {
        fieldType: 1,
        type: 1,
        translations: { de: { description: 'ohne Namen' } },
      }),
      { 'translations.de.name': ['The translations.de.name field is required.'] },
    );
    expectValidation(
      await api.post('/api/v1/customerFields', { fieldType: 1, type: 1, translations: { de: { name: 5 } } }),
      { 'translations.de.name': ['The selected translations.de.name is invalid.'] },
    );
    expectValidation(
      await api.post('/api/v1/customerFields', { fieldType: 1, type: 1, translations: t, isEditable: 'yes' }),
      { isEditable: ['The isEditable field must be true or false.'] },
    );
    expect((await api.get('/api/v1/customerFields')).body.meta.pagination.total).toBe(0);
  });

  it('the type cannot change while the field has values (423/1025); DELETE removes the values', async () => {
    const { api, accountId } = await fresh();
    const score = await field(api, { fieldType: 1, type: 2, translations: { en: { name: 'Score' } } });
    const spare = await field(api, { fieldType: 1, type: 1, translations: { en: { name: 'Spare' } } });

    // Without values the type may change.
    const retyped = await api.put(`/api/v1/customerFields/${spare.id}`, { type: 3, fieldType: 2 });
    expect(retyped.status).toBe(200);
    expect(retyped.body.data).toMatchObject({ type: 3, fieldType: 2 });

    const ada = await createSubscriber(api, { email: 'ada@example.org', customerFields: { [score.id]: 7 } });
    expect((await api.get(`/api/v1/subscribers/${ada}`)).body.data.customerFields[String(score.id)]).toBe(7);
    const lockedMessage =
      'The customer field has values; its type and fieldType cannot change. Create a new field instead.';
    expectError(await api.put(`/api/v1/customerFields/${score.id}`, { type: 1 }), 423, 1025, [], lockedMessage);
    expectError(await api.put(`/api/v1/customerFields/${score.id}`, { fieldType: 3 }), 423, 1025, [], lockedMessage);
    // Sending the current type, or other changes, is fine.
    expect((await api.put(`/api/v1/customerFields/${score.id}`, { type: 2, isAvailableForImport: false })).status).toBe(
      200,
    );
    expect((await api.get(`/api/v1/customerFields/${score.id}`)).body.data).toMatchObject({
      type: 2,
      isAvailableForImport: false,
    });

    expect((await api.delete(`/api/v1/customerFields/${score.id}`)).status).toBe(204);
    const after = await api.get(`/api/v1/subscribers/${ada}`);
    expect(after.status).toBe(200);
    expect(Object.keys(after.body.data.customerFields)).not.toContain(String(score.id));
    const values = await server.app.ctx.db
      .selectFrom('subscriber_field_values')
      .select('field_id')
      .where('account_id', '=', accountId)
      .execute();
    expect(values).toEqual([]);
  });

  it('a field a dynamic group filters on can neither be deleted nor retyped (423/1025)', async () => {
    const { api } = await fresh();
    const f = await field(api, { fieldType: 1, type: 1, translations: { de: { name: 'Hobby' } } });
    const g = (
      await api.post('/api/v1/subscriberGroups', {
        name: 'Anglers',
        type: 2,
        conditions: [{ [`customerFields.${f.id}`]: 'fishing' }],
      })
    ).body.data;
    expect(g.id).toEqual(expect.any(Number));
    expectError(
      await api.delete(`/api/v1/customerFields/${f.id}`),
      423,
      1025,
      [],
      `The customer field is used by the conditions of the dynamic subscriber group "Anglers" (${g.id}); change those conditions before deleting it.`,
    );
    expectError(
      await api.put(`/api/v1/customerFields/${f.id}`, { type: 2 }),
      423,
      1025,
      [],
      `The customer field is used by the conditions of the dynamic subscriber group "Anglers" (${g.id}); change those conditions before changing its type.`,
    );
    expect((await api.get(`/api/v1/customerFields/${f.id}`)).status).toBe(200);
    // Once the group no longer uses it, it can go.
    expect((await api.put(`/api/v1/subscriberGroups/${g.id}`, { conditions: [{ languageIso: 'de' }] })).status).toBe(
      200,
    );
    expect((await api.delete(`/api/v1/customerFields/${f.id}`)).status).toBe(204);
  });

  it('another account’s field is 404/1020; fields need the Subscribers permission', async () => {
    const mine = await fresh();
    const theirs = await fresh();
    const f = await field(theirs.api, { fieldType: 1, type: 1, translations: { en: { name: 'Theirs' } } });
    const nf = 'Customer field not found';
    expectNotFound(await mine.api.get(`/api/v1/customerFields/${f.id}`), nf);
    expectNotFound(await mine.api.put(`/api/v1/customerFields/${f.id}`, { isEditable: false }), nf);
    expectNotFound(await mine.api.delete(`/api/v1/customerFields/${f.id}`), nf);
    expect((await mine.api.get('/api/v1/customerFields')).body.data).toEqual([]);
    expect((await theirs.api.get(`/api/v1/customerFields/${f.id}`)).body.data.isEditable).toBe(true);

    const groupsOnly = await server.newKey({ name: 'groups only', permissions: ['subscriber_groups'] });
    expectError(
      await server.api.post(
        '/api/v1/customerFields',
        { fieldType: 1, type: 1, translations: { en: { name: 'x' } } },
        { auth: basicAuth(groupsOnly) },
      ),
      403,
      1021,
      { permission: ['this API key lacks the "Subscribers" permission'] },
      'This action is unauthorized.',
    );
  });
});
