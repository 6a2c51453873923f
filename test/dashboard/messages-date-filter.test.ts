// The message list's date filter, which the dashboard's Messages page uses: `from` and `to` as UTC
// days or ISO-8601 date-times; anything else a 422 naming the parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const sent = await server.api.post('/v1/layang/transmissions', {
    from: { email: 'app@example.com' },
    to: [{ email: 'dated@example.org' }],
    subject: 'Dated',
    bodyText: 'Hello',
  });
  expect(sent.status, sent.text).toBe(200);
});
afterAll(async () => server?.close());

const count = async (query: string) => {
  const res = await server.api.get(`/v1/messages?recipient=dated@example.org&${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body.count as number;
};

describe('GET /v1/messages?from&to', () => {
  it('keeps the messages created in the window', async () => {
    const today = new Date().toISOString().slice(0, 10);
    expect(await count(`from=${today}&to=${today}`)).toBe(1);
    expect(await count('to=2020-01-01')).toBe(0);
    expect(await count(`from=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(0);
    expect(await count(`to=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(1);
  });

  it('refuses a bound that is no date', async () => {
    const res = await server.api.get('/v1/messages?from=yesterday');
    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ code: '1401' });
    expect(res.body.errors[0].description).toMatch(/^from must be a date/);
  });
});
