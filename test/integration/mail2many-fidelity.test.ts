// What real mail2many integrations compare byte for byte: the validation message (Laravel's
// first error and "(and N more error[s])"), optInSent as a boolean, the seed's codes for refused
// requests, Idempotency-Key on every POST, and where malformed JSON breaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { basicAuth } from '../helpers/marketing-fixtures.ts';

describe(`mail2many fidelity (${dialectName})`, () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = new ApiClient(server.url, null);
  });
  afterAll(async () => server?.close());
  const auth = () => ({ auth: basicAuth(server.key) });

  it('the message is the first field error in Laravel’s words, then how many more', async () => {
    const post = (body: unknown) => api.post('/api/v1/subscribers', body, auth());
    // The strings the official WordPress plugin and other integrations compare.
    expect((await post({})).body.message).toBe('The email field is required.');
    expect((await post({ email: 'nope' })).body.message).toBe('The email must be a valid email address.');
    expect((await post({ email: 'a@example.org', genderId: 'x' })).body.message).toBe(
      'The genderId must be an integer.',
    );
    const two = await post({ email: 'nope', firstname: 7 });
    expect(two.status).toBe(422);
    expect(two.body).toEqual({
      status: 'error',
      code: 1002,
      message: 'The email must be a valid email address. (and 1 more error)',
      errors: { email: ['The email must be a valid email address.'], firstname: ['The firstname must be a string.'] },
      statusCode: 422,
    });
    expect((await post({ email: 'nope', firstname: 7, genderId: 'x' })).body.message).toBe(
      'The email must be a valid email address. (and 2 more errors)',
    );
    // Errors found by the schema are worded the same way.
    const channel = await api.post('/api/v1/channels', { name: 42 }, auth());
    expect(channel.body.message).toBe('The name must be a string.');
    expect((await api.post('/api/v1/channels', {}, auth())).body.message).toBe('The name field is required.');
  });

  it('optInSent is a boolean; the time is optInSentAt', async () => {
    const channel = (await api.post('/api/v1/channels', { name: 'News', senderEmail: 'n@example.com' }, auth())).body
      .data.id;
    const pending = await api.post(
      '/api/v1/subscribers',
      { email: 'pending@example.org', sendOptIn: true, channels: [channel] },
      auth(),
    );
    expect(pending.body.data.optInSent).toBe(true);
    expect(pending.body.data.optInSentAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const ready = await api.post('/api/v1/subscribers', { email: 'ready@example.org' }, auth());
    expect(ready.body.data.optInSent).toBe(false);
    expect(ready.body.data.optInSentAt).toBeNull();
  });

  it('a refused permission and a wrong method use the seed’s code for what was tried', async () => {
    const narrow = await server.newKey({ name: 'groups only', permissions: ['subscriber_groups'] });
    const as = { auth: basicAuth(narrow) };
    const cases: Array<[string, string, number]> = [
      ['GET', '/api/v1/subscribers', 1020],
      ['POST', '/api/v1/subscribers', 1021],
      ['PUT', '/api/v1/subscribers/1', 1022],
      ['DELETE', '/api/v1/subscribers/1', 1023],
    ];
    for (const [method, path, code] of cases) {
      const res = await api.request(method, path, {
        ...as,
        body: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toEqual({
        status: 'error',
        code,
        message: 'This action is unauthorized.',
        errors: { permission: ['this API key lacks the "Subscribers" permission'] },
        statusCode: 403,
      });
    }
    const put = await api.request('PUT', '/api/v1/subscribers', { ...auth(), body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(put.body).toEqual({
      status: 'error',
      code: 1022,
      message: 'The PUT method is not supported for this route. Supported methods: GET, POST.',
      errors: [],
      statusCode: 405,
    });
    expect((await api.request('DELETE', '/api/v1/channels', auth())).body.code).toBe(1023);
    expect((await api.request('POST', '/api/v1/whoami', { ...auth(), body: {} })).body.code).toBe(1021);
  });

  it('malformed JSON is a 400 that says where it breaks', async () => {
    const res = await api.request('POST', '/api/v1/subscribers', {
      ...auth(),
      rawBody: '{\n  "email": "a@example.org",\n  "firstname": }',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 1002,
      message: 'The body is not valid JSON: value expected at line 3, column 16 (position 45).',
      errors: { body: ['The body is not valid JSON: value expected at line 3, column 16 (position 45).'] },
      statusCode: 400,
    });
    // The transactional dialect reports the position too.
    const v1 = await server.api.request('POST', '/v1/layang/transmissions', {
      rawBody: '{"from": {"email": "a@example.com"},, }',
      headers: { 'content-type': 'application/json' },
    });
    expect(v1.status).toBe(400);
    expect(v1.body.errors[0]).toEqual({
      message: 'invalid request syntax',
      description: 'the body is not valid JSON: property name expected at line 1, column 37 (position 36)',
      code: '1410',
    });
  });

  describe('Idempotency-Key on every POST', () => {
    const withKey = (key: string) => ({ auth: basicAuth(server.key), headers: { 'idempotency-key': key } });

    it('answers a retry with the first answer and does it once', async () => {
      const body = { email: 'once@example.org', firstname: 'Once' };
      const first = await api.post('/api/v1/subscribers', body, withKey('create-once'));
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const again = await api.post(
        '/api/v1/subscribers',
        { firstname: 'Once', email: 'once@example.org' },
        withKey('create-once'),
      );
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);
      const rows = await server.app.ctx.db
        .selectFrom('subscribers')
        .select('id')
        .where('email', '=', 'once@example.org')
        .execute();
      expect(rows).toHaveLength(1);

      // Channels, groups, mailings… every POST: here a channel.
      const c1 = await api.post('/api/v1/channels', { name: 'Once' }, withKey('channel-once'));
      const c2 = await api.post('/api/v1/channels', { name: 'Once' }, withKey('channel-once'));
      expect(c2.body.data.id).toBe(c1.body.data.id);
    });

    it('refuses the key for another request, and frees it after an error', async () => {
      await api.post('/api/v1/subscribers', { email: 'first@example.org' }, withKey('k-conflict'));
      const other = await api.post('/api/v1/subscribers', { email: 'second@example.org' }, withKey('k-conflict'));
      expect(other.status).toBe(409);
      expect(other.body).toEqual({
        status: 'error',
        code: 1024,
        message: 'The Idempotency-Key was already used with a different request.',
        errors: [],
        statusCode: 409,
      });

      const failed = await api.post('/api/v1/subscribers', { email: 'broken' }, withKey('k-retry'));
      expect(failed.status).toBe(422);
      const fixed = await api.post('/api/v1/subscribers', { email: 'fixed@example.org' }, withKey('k-retry'));
      expect(fixed.status).toBe(201);
    });

    it('keeps keys per account and documents the header on every POST', async () => {
      const other = await server.newAccount();
      const mine = await api.post('/api/v1/channels', { name: 'Mine' }, withKey('shared-key'));
      const theirs = await api.post(
        '/api/v1/channels',
        { name: 'Mine' },
        {
          auth: basicAuth(other.key),
          headers: { 'idempotency-key': 'shared-key' },
        },
      );
      expect(theirs.status).toBe(201);
      expect(theirs.body.data.id).not.toBe(mine.body.data.id);
      const tooLong = await api.post('/api/v1/channels', { name: 'x' }, withKey('k'.repeat(257)));
      expect(tooLong.status).toBe(422);

      const doc = (await api.get('/api/v1/openapi.json')).body;
      const posts = Object.entries(doc.paths as Record<string, any>).filter(([, ops]) => ops.post);
      expect(posts.length).toBeGreaterThan(10);
      for (const [path, ops] of posts)
        expect(
          (ops.post.parameters ?? []).some((p: any) => p.in === 'header' && p.name === 'idempotency-key'),
          path,
        ).toBe(true);
    });
  });
});
