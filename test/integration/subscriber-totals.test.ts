// meta.pagination.total of GET /api/v1/subscribers stays exact while the list is read again and
// again between writes of every kind (the store may remember totals between writes; this proves
// no write path leaves a stale one behind), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import {
  bulkSubscribers,
  createSubscriber,
  eraseSubscriber,
  search,
  updateSubscriber,
} from '../helpers/marketing-fixtures.ts';

describe(`list totals follow every write (${dialectName})`, () => {
  let server: TestServer;
  let scoreField: number;

  beforeAll(async () => {
    server = await startTestServer();
    const field = await server.api.post('/api/v1/customerFields', {
      fieldType: 1,
      type: 2,
      translations: { en: { name: 'score' } },
    });
    expect(field.status, field.text).toBe(201);
    scoreField = field.body.data.id;
  });
  afterAll(async () => server?.close());

  const total = async (filter: unknown): Promise<number> => {
    // Twice: the second read is the one that could come from a remembered total.
    const first = await server.api.get(`/api/v1/subscribers?search=${search(filter)}&limit=1`);
    const second = await server.api.get(`/api/v1/subscribers?search=${search(filter)}&limit=1`);
    expect(second.status, second.text).toBe(200);
    expect(second.body.meta.pagination.total).toBe(first.body.meta.pagination.total);
    return second.body.meta.pagination.total;
  };

  it('create, bulk, update, custom values, unsubscribe, erase and import each change the total at once', async () => {
    const berlin = [{ city: 'Berlin' }];
    const emailPrefix = [{ email: { condition: 'like', value: 'total%' } }];
    const scored = [{ [`customerFields.${scoreField}`]: { condition: '>', value: 5 } }];
    const ready = [{ status: 1 }];
    expect(await total(berlin)).toBe(0);
    expect(await total(emailPrefix)).toBe(0);

    const a = await createSubscriber(server.api, { email: 'total-a@example.org', city: 'Berlin', status: 1 });
    expect(await total(berlin)).toBe(1);
    expect(await total(emailPrefix)).toBe(1);
    const readyBefore = await total(ready);

    await bulkSubscribers(server.api, [
      { email: 'total-b@example.org', city: 'Berlin', status: 1 },
      { email: 'TOTAL-C@example.org', city: 'Hamburg', status: 1 },
    ]);
    expect(await total(berlin)).toBe(2);
    expect(await total(emailPrefix)).toBe(3);
    expect(await total(ready)).toBe(readyBefore + 2);

    await updateSubscriber(server.api, a, { city: 'Köln' });
    expect(await total(berlin)).toBe(1);

    expect(await total(scored)).toBe(0);
    await updateSubscriber(server.api, a, { customerFields: { [scoreField]: 9 } });
    expect(await total(scored)).toBe(1);
    await updateSubscriber(server.api, a, { customerFields: { [scoreField]: null } });
    expect(await total(scored)).toBe(0);

    const unsubscribed = await server.api.post(`/api/v1/subscribers/${a}/unsubscribe`, {});
    expect(unsubscribed.status, unsubscribed.text).toBe(200);
    expect(await total(ready)).toBe(readyBefore + 1);

    await eraseSubscriber(server.api, a);
    expect(await total(emailPrefix)).toBe(2);

    const upload = await server.api.request('POST', '/api/v1/subscribers/import', {
      rawBody: 'email,city\ntotal-d@example.org,Berlin\ntotal-e@example.org,Berlin\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(upload.status, upload.text).toBeLessThan(300);
    const jobId = upload.body.data.id;
    await waitFor(
      async () => (await server.api.get(`/api/v1/jobs/${jobId}`)).body.data.status === 'completed',
      20_000,
      'import',
    );
    expect(await total(berlin)).toBe(3);
    expect(await total(emailPrefix)).toBe(4);
  });
});
