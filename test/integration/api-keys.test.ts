// API keys through the transactional API, exact to Mailtarget's published contract
// (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json): GET/POST /v1/api-key,
// GET/PUT/DELETE /v1/api-key/{id}, GET /v1/permission. Integer ids, Unix-millisecond times, the
// secret shown once, no key granting more than it holds, and revocation at once on every node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startSecondNode, startTestServer, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import type { Posthorn } from '../../src/app.ts';
import { authenticate } from '../../src/services/api-keys.ts';

const KEY = /^[A-Za-z0-9]{8}\.[0-9a-f]{32}$/;
const MASKED = /^[A-Za-z0-9]{8}\.\*{8}$/;
const SEND = '/v1/layang/transmissions';
const mail = { from: { email: 'keys@example.com' }, to: [{ email: 'rcpt@example.org' }], subject: 'Hi', bodyText: 'x' };

/** Checks the transactional error dialect, with the top-level message, and returns the code. */
function errorCode(res: ApiResponse, status: number): string {
  expect(res.status, res.text).toBe(status);
  expect(res.body).toEqual({
    errors: [{ message: expect.any(String), description: expect.any(String), code: expect.any(String) }],
    message: res.body.errors[0].description,
  });
  return res.body.errors[0].code;
}

describe(`API keys (${dialectName})`, () => {
  let server: TestServer;
  let companyId: number;
  beforeAll(async () => {
    server = await startTestServer();
    companyId = (await server.api.get('/v1/account')).body.companyId;
  });
  afterAll(async () => server?.close());

  const as = (key: string) => new ApiClient(server.url, key);

  it('GET /v1/permission lists every permission with an integer id', async () => {
    const res = await server.api.get('/v1/permission');
    expect(res.status).toBe(200);
    expect(res.body.length).toBeGreaterThanOrEqual(17);
    for (const p of res.body)
      expect(p).toEqual({ id: expect.any(Number), name: expect.any(String), detail: expect.any(String) });
    expect(res.body.map((p: any) => p.id)).toEqual(res.body.map((_: unknown, i: number) => i + 1));
    expect(res.body.slice(0, 3).map((p: any) => p.name)).toEqual(['Send via API', 'Send via SMTP', 'Templates']);
    expect(res.body.find((p: any) => p.name === 'API Keys').id).toBe(8);
    // Any valid key may read the catalogue.
    const sender = await server.newKey({ name: 'sender', permissions: ['send_api'] });
    expect((await as(sender).get('/v1/permission')).status).toBe(200);
  });

  it('POST creates a key (201) whose whole secret is shown once; it works with exactly its permissions', async () => {
    const before = Date.now();
    const res = await server.api.post('/v1/api-key', {
      name: 'Shop backend',
      permissionIds: [1, 7],
      allowedIp: '127.0.0.1,10.0.0.0/8,',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      key: expect.stringMatching(KEY),
      name: 'Shop backend',
      permissionType: 'custom',
      createdAt: expect.any(Number),
      environment: 'production',
      companyId,
      companyName: 'Default account',
      allowedIp: '127.0.0.1,10.0.0.0/8',
      permissions: [
        { id: 1, name: 'Send via API', detail: expect.any(String) },
        { id: 7, name: 'Analytics', detail: expect.any(String) },
      ],
    });
    expect(Number.isInteger(res.body.id)).toBe(true);
    expect(res.body.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(res.body.createdAt).toBeLessThanOrEqual(Date.now() + 1000);

    const key = as(res.body.key);
    expect((await key.post(SEND, mail)).status).toBe(200);
    expect((await key.get('/v1/messages')).status).toBe(200);
    expect(errorCode(await key.get('/v1/template'), 403)).toBe('1301');

    // Never again: the detail and the list show the public id and a mask.
    const detail = await server.api.get(`/v1/api-key/${res.body.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual({ ...res.body, key: expect.stringMatching(MASKED), lastUsedAt: expect.any(Number) });
    expect(detail.body.key.slice(0, 8)).toBe(res.body.key.slice(0, 8));
    expect(detail.text).not.toContain(res.body.key.slice(9));
    const list = await server.api.get('/v1/api-key?size=1000');
    expect(list.text).not.toContain(res.body.key.slice(9));
  });

  it('GET lists {count, apiKeys} with search, permissionType, sort and paging', async () => {
    const tag = `list-${Date.now()}`;
    const made: any[] = [];
    for (const [name, permissionIds] of [
      [`${tag} b`, [1]],
      [`${tag} a`, [3]],
      [`${tag} c`, undefined],
    ] as const) {
      const res = await server.api.post('/v1/api-key', { name, ...(permissionIds ? { permissionIds } : {}) });
      expect(res.status, res.text).toBe(201);
      made.push(res.body);
    }
    const res = await server.api.get(`/v1/api-key?search=${encodeURIComponent(tag.toUpperCase())}`);
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(3);
    // Newest first by default.
    expect(res.body.apiKeys.map((k: any) => k.name)).toEqual([`${tag} c`, `${tag} a`, `${tag} b`]);
    for (const k of res.body.apiKeys) {
      expect(Object.keys(k).sort()).toEqual(['createdAt', 'environment', 'id', 'key', 'name', 'permissionType']);
      expect(k.key).toMatch(MASKED);
    }
    // Without permissions, the new key got those of the key that made it (all of them).
    expect(res.body.apiKeys[0].permissionType).toBe('all');

    const byName = await server.api.get(`/v1/api-key?search=${tag}&sort=name:asc&page=2&size=2`);
    expect(byName.body).toEqual({ count: 3, apiKeys: [expect.objectContaining({ name: `${tag} c` })] });
    const descending = await server.api.get(`/v1/api-key?search=${tag}&sort=-name`);
    expect(descending.body.apiKeys.map((k: any) => k.name)).toEqual([`${tag} c`, `${tag} b`, `${tag} a`]);
    const custom = await server.api.get(`/v1/api-key?search=${tag}&permissionType=custom&sort=id`);
    expect(custom.body.apiKeys.map((k: any) => k.id)).toEqual([made[0].id, made[1].id]);
    const all = await server.api.get(`/v1/api-key?search=${tag}&permissionType=all`);
    expect(all.body.apiKeys.map((k: any) => k.id)).toEqual([made[2].id]);
    // The public id finds its key; empty filters are no filters.
    const byPublicId = await server.api.get(
      `/v1/api-key?search=${made[1].key.slice(0, 8)}&permissionType=&subAccountId=0`,
    );
    expect(byPublicId.body.apiKeys.map((k: any) => k.id)).toEqual([made[1].id]);

    expect(errorCode(await server.api.get('/v1/api-key?sort=secret'), 422)).toBe('1401');
    expect(errorCode(await server.api.get('/v1/api-key?permissionType=most'), 422)).toBe('1401');
    expect(errorCode(await server.api.get('/v1/api-key?size=1001'), 422)).toBe('1401');
  });

  it('PUT changes name, permissions and allowed IPs, effective on the next request', async () => {
    const created = (await server.api.post('/v1/api-key', { name: 'to change', permissionIds: [7] })).body;
    const key = as(created.key);
    expect((await key.get('/v1/messages')).status).toBe(200);

    const moved = await server.api.put(`/v1/api-key/${created.id}`, { allowedIp: '192.0.2.1' });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body).toMatchObject({ id: created.id, name: 'to change', allowedIp: '192.0.2.1' });
    expect(errorCode(await key.get('/v1/messages'), 403)).toBe('1302');

    // Empty fields are absent (typed clients send them); "*" allows any address again.
    const same = await server.api.put(`/v1/api-key/${created.id}`, { name: '', allowedIp: '', permissionIds: [] });
    expect(same.body).toMatchObject({ name: 'to change', allowedIp: '192.0.2.1', permissions: [{ id: 7 }] });
    const open = await server.api.put(`/v1/api-key/${created.id}`, {
      name: 'changed',
      allowedIp: '*',
      permissionIds: [3],
      permissionType: 'custom',
    });
    expect(open.body).toMatchObject({ name: 'changed', allowedIp: '', permissionType: 'custom' });
    expect(open.body.permissions.map((p: any) => p.name)).toEqual(['Templates']);
    expect((await key.get('/v1/template')).status).toBe(200);
    expect(errorCode(await key.get('/v1/messages'), 403)).toBe('1301');

    expect(errorCode(await server.api.put(`/v1/api-key/${created.id}`, { allowedIp: 'not-an-ip' }), 422)).toBe('1401');
    expect(errorCode(await server.api.put(`/v1/api-key/${created.id}`, { permissionIds: [999] }), 422)).toBe('1401');
    expect(errorCode(await server.api.put('/v1/api-key/2147483647', { name: 'x' }), 404)).toBe('1600');
  });

  it('DELETE revokes at once and answers true; a key cannot revoke itself', async () => {
    const created = (await server.api.post('/v1/api-key', { name: 'short-lived', permissionIds: [7, 8] })).body;
    const key = as(created.key);
    expect((await key.get('/v1/messages')).status).toBe(200);
    expect(errorCode(await key.delete(`/v1/api-key/${created.id}`), 403)).toBe('1301');

    const res = await server.api.delete(`/v1/api-key/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(true);
    expect(res.text).toBe('true');
    expect(errorCode(await key.get('/v1/messages'), 401)).toBe('1300');
    expect(errorCode(await server.api.get(`/v1/api-key/${created.id}`), 404)).toBe('1600');
    expect(errorCode(await server.api.delete(`/v1/api-key/${created.id}`), 404)).toBe('1600');
    expect((await server.api.get('/v1/api-key?size=1000')).body.apiKeys.map((k: any) => k.id)).not.toContain(
      created.id,
    );
    // What the SMTP submission server asks too: the same check, no cache.
    expect(await authenticate(server.app.ctx, created.key, '127.0.0.1')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('a key cannot grant what it lacks: permissions, or production from a sandbox key', async () => {
    const limited = as(await server.newKey({ name: 'limited', permissions: ['api_keys', 'send_api'] }));
    const lacking = await limited.post('/v1/api-key', { name: 'more', permissionIds: [1, 3] });
    expect(errorCode(lacking, 403)).toBe('1301');
    expect(lacking.body.message).toContain('Templates');
    expect(errorCode(await limited.post('/v1/api-key', { name: 'all', permissionType: 'all' }), 403)).toBe('1301');

    const fewer = await limited.post('/v1/api-key', { name: 'fewer', permissionIds: [1] });
    expect(fewer.status, fewer.text).toBe(201);
    expect(errorCode(await limited.put(`/v1/api-key/${fewer.body.id}`, { permissionIds: [1, 7] }), 403)).toBe('1301');
    const same = await limited.post('/v1/api-key', { name: 'same' });
    expect(same.body.permissions.map((p: any) => p.id)).toEqual([1, 8]);

    const sandbox = as(await server.newKey({ name: 'sandbox', environment: 'sandbox', permissions: ['api_keys'] }));
    expect(errorCode(await sandbox.post('/v1/api-key', { name: 'prod', environment: 'production' }), 403)).toBe('1301');
    const child = await sandbox.post('/v1/api-key', { name: 'child' });
    expect(child.body.environment).toBe('sandbox');

    // Without the API Keys permission there is no key management at all.
    const sender = as(await server.newKey({ name: 'plain sender', permissions: ['send_api'] }));
    expect(errorCode(await sender.get('/v1/api-key'), 403)).toBe('1301');
  });

  it('refuses bad input in the dialect, and other accounts’ keys are not found', async () => {
    expect(errorCode(await server.api.post('/v1/api-key', { permissionIds: [1] }), 422)).toBe('1400');
    expect(errorCode(await server.api.post('/v1/api-key', { name: '  ' }), 422)).toBe('1400');
    expect(errorCode(await server.api.post('/v1/api-key', { name: 'x', permissionIds: [0] }), 422)).toBe('1401');
    expect(errorCode(await server.api.post('/v1/api-key', { name: 'x', permissionType: 'custom' }), 422)).toBe('1400');
    expect(errorCode(await server.api.post('/v1/api-key', { name: 'x', environment: 'staging' }), 422)).toBe('1401');
    expect(errorCode(await server.api.post('/v1/api-key', { name: 'x', allowedIp: '300.1.1.1' }), 422)).toBe('1401');
    expect(errorCode(await server.api.get('/v1/api-key/abc'), 422)).toBe('1401');

    const other = await server.newAccount();
    const theirs = (await other.api.post('/v1/api-key', { name: 'theirs' })).body;
    for (const res of [
      await server.api.get(`/v1/api-key/${theirs.id}`),
      await server.api.put(`/v1/api-key/${theirs.id}`, { name: 'mine now' }),
      await server.api.delete(`/v1/api-key/${theirs.id}`),
    ])
      expect(errorCode(res, 404)).toBe('1600');
    expect((await server.api.get(`/v1/api-key?search=theirs`)).body.count).toBe(0);
    expect((await as(theirs.key).get('/v1/permission')).status).toBe(200);
  });
});

describe(`revocation on every node (${dialectName})`, () => {
  let server: TestServer;
  let second: Posthorn;
  beforeAll(async () => {
    server = await startTestServer();
    second = await startSecondNode(server);
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('a key revoked on one node is refused by the other on the next request', async () => {
    const created = (await server.api.post('/v1/api-key', { name: 'two nodes', permissionIds: [7] })).body;
    const onSecond = new ApiClient(second.url!, created.key);
    expect((await onSecond.get('/v1/messages')).status).toBe(200);
    expect((await server.api.delete(`/v1/api-key/${created.id}`)).body).toBe(true);
    expect(errorCode(await onSecond.get('/v1/messages'), 401)).toBe('1300');
  });

  it('a permission taken away on one node is missing on the other at once', async () => {
    const created = (await server.api.post('/v1/api-key', { name: 'narrowed', permissionIds: [3, 7] })).body;
    const onSecond = new ApiClient(second.url!, created.key);
    expect((await onSecond.get('/v1/template')).status).toBe(200);
    await server.api.put(`/v1/api-key/${created.id}`, { permissionIds: [7] });
    expect(errorCode(await onSecond.get('/v1/template'), 403)).toBe('1301');
  });
});
