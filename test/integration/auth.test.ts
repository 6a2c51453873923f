// Authentication: one key, accepted in all three Authorization forms, with lastUsedAt recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

const SEND = '/v1/layang/transmissions';
const body = {
  from: { email: 'sender@example.com' },
  to: [{ email: 'rcpt@example.org' }],
  subject: 'Auth',
  bodyText: 'Hi',
};
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe(`API key authentication (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    // Every malformed form below is a wrong key; more of them than the brute-force lock allows
    // (brute-force-surfaces.test.ts tests the lock).
    server = await startTestServer({ POSTHORN_AUTH_LOCK: 'false' });
  });
  afterAll(async () => server?.close());

  async function lastUsedAt(key: string): Promise<number | null> {
    const row = await server.app.ctx.db
      .selectFrom('api_keys')
      .select('last_used_at')
      .where('id', '=', key.split('.')[0]!)
      .executeTakeFirstOrThrow();
    return row.last_used_at === null ? null : Number(row.last_used_at);
  }

  it('accepts the same key as Bearer, raw and Basic', async () => {
    const key = await server.newKey({ name: 'three forms' });
    const forms = [
      `Bearer ${key}`,
      `bearer ${key}`,
      key,
      basic('anything', key),
      basic('', key),
      basic('smtp_mt_injection', key),
    ];
    for (const auth of forms) {
      const res = await server.api.post(SEND, body, { auth });
      expect(res.status, `${auth}: ${res.text}`).toBe(200);
      expect(res.body.transmissionId).toEqual(expect.any(String));
    }
  });

  it('refuses the forms when the key inside them is wrong', async () => {
    const key = await server.newKey({ name: 'wrong forms' });
    const wrong = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    for (const auth of [
      `Bearer ${wrong}`,
      wrong,
      basic('anything', wrong),
      basic(key, ''),
      `Basic ${key}`,
      'Bearer',
      'Basic',
      `Token ${key}`,
    ]) {
      const res = await server.api.post(SEND, body, { auth });
      expect(res.status, auth).toBe(401);
      expect(res.body).toEqual({
        errors: [{ message: expect.any(String), description: expect.any(String), code: '1300' }],
        message: expect.any(String),
      });
    }
  });

  it('records lastUsedAt when the key is used', async () => {
    const key = await server.newKey({ name: 'usage' });
    expect(await lastUsedAt(key)).toBeNull();
    const before = Date.now();
    expect((await server.api.post(SEND, body, { auth: basic('x', key) })).status).toBe(200);
    const at = await lastUsedAt(key);
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(before - 1000);
    expect(at!).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('records lastUsedAt for a read as well as a send', async () => {
    const key = await server.newKey({ name: 'reader', permissions: ['analytics'] });
    expect((await server.api.get('/v1/messages', { auth: key })).status).toBe(200);
    expect(await lastUsedAt(key)).not.toBeNull();
  });

  it('does not record lastUsedAt for a refused key', async () => {
    const key = await server.newKey({ name: 'refused', allowedIps: ['10.1.2.3'] });
    expect((await server.api.post(SEND, body, { auth: `Bearer ${key}` })).status).toBe(403);
    expect(await lastUsedAt(key)).toBeNull();
  });

  it('lets a key act only where its permission allows', async () => {
    const key = await server.newKey({ name: 'sender only', permissions: ['Send via API'] });
    expect((await server.api.post(SEND, body, { auth: `Bearer ${key}` })).status).toBe(200);
    const read = await server.api.get('/v1/messages', { auth: `Bearer ${key}` });
    expect(read.status).toBe(403);
    expect(read.body.errors[0].code).toBe('1301');
  });
});
