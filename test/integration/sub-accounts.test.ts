// Sub-accounts through the transactional API, exact to Mailtarget's published contract
// (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json): GET/POST /v1/sub-account,
// GET/PUT /v1/sub-account/{id}; statuses Active, Suspended (cannot send) and Terminated (final);
// a parent's key acting on a sub-account with X-MT-ATTR; the account and usage-quota views.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { ApiClient, startTestServer, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

const KEY = /^[A-Za-z0-9]{8}\.[0-9a-f]{32}$/;
const SEND = '/v1/layang/transmissions';
const mail = (to = 'rcpt@example.org') => ({
  from: { email: 'sub@example.com' },
  to: [{ email: to }],
  subject: 'Hi',
  bodyText: 'x',
});

function errorCode(res: ApiResponse, status: number): string {
  expect(res.status, res.text).toBe(status);
  expect(res.body.message).toBe(res.body.errors[0].description);
  return res.body.errors[0].code;
}

describe(`sub-accounts (${dialectName})`, () => {
  let server: TestServer;
  let parent: ApiClient;
  let parentIntId: number;
  beforeAll(async () => {
    server = await startTestServer({
      POSTHORN_MONTHLY_LIMIT: '1000',
      POSTHORN_DAILY_LIMIT: '100',
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const account = await server.newAccount();
    parent = account.api;
    parentIntId = account.accountIntId;
  });
  afterAll(async () => server?.close());

  /** The parent's key, acting on a sub-account. */
  const acting = (subId: number | string) => ({ headers: { 'X-MT-ATTR': String(subId) } });
  const create = async (body: Record<string, unknown>) => {
    const res = await parent.post('/v1/sub-account', body);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  it('POST creates a sub-account (200) with integer ids, optionally with its first key shown once', async () => {
    const before = Date.now();
    const plain = await create({ name: 'Shop A' });
    expect(plain).toEqual({
      id: expect.any(Number),
      subAccountName: 'Shop A',
      status: 'Active',
      companyId: parentIntId,
      createdAt: expect.any(Number),
      apiKeys: [],
      domains: [],
    });
    expect(plain.createdAt).toBeGreaterThanOrEqual(before - 1000);

    const withKey = await create({
      name: 'Shop B',
      status: 'suspended',
      createApiKey: true,
      apiKeyName: 'B backend',
      permissionIds: [1, 7],
      allowedIps: '127.0.0.1,',
      ipPoolId: 3,
    });
    expect(withKey).toMatchObject({ subAccountName: 'Shop B', status: 'Suspended', companyId: parentIntId });
    expect(withKey.apiKeys).toEqual([
      {
        id: expect.any(Number),
        key: expect.stringMatching(KEY),
        name: 'B backend',
        permissionType: 'custom',
        createdAt: expect.any(Number),
        subAccountId: withKey.id,
        subAccountName: 'Shop B',
        environment: 'production',
      },
    ]);
    // The secret is not shown again.
    const again = await parent.get(`/v1/sub-account/${withKey.id}`);
    expect(again.status).toBe(200);
    expect(again.body.apiKeys[0].key).toMatch(/^[A-Za-z0-9]{8}\.\*{8}$/);
    expect(again.text).not.toContain(withKey.apiKeys[0].key.slice(9));
    const keyDetail = (await parent.get(`/v1/api-key/${withKey.apiKeys[0].id}`)).body;
    expect(keyDetail).toMatchObject({
      companyId: parentIntId,
      subAccountId: withKey.id,
      subAccountName: 'Shop B',
      allowedIp: '127.0.0.1',
    });

    // Without permissions the new key gets those of the parent's key (all of them here).
    const defaults = await create({ name: 'Shop C', createApiKey: true });
    expect(defaults.apiKeys[0]).toMatchObject({ name: 'Shop C key', permissionType: 'all' });

    expect(errorCode(await parent.post('/v1/sub-account', {}), 422)).toBe('1400');
    expect(errorCode(await parent.post('/v1/sub-account', { name: 'x', status: 'Terminated' }), 422)).toBe('1401');
    expect(errorCode(await parent.post('/v1/sub-account', { name: 'x', status: 'Paused' }), 422)).toBe('1401');
    const narrow = new ApiClient(
      server.url,
      await server.newKey({
        accountId: (await server.app.ctx.db
          .selectFrom('accounts')
          .select('id')
          .where('int_id', '=', parentIntId)
          .executeTakeFirstOrThrow())!.id,
        name: 'narrow',
        permissions: ['sub_accounts', 'send_api'],
      }),
    );
    const refused = await narrow.post('/v1/sub-account', { name: 'x', createApiKey: true, permissionIds: [3] });
    expect(errorCode(refused, 403)).toBe('1301');
    // Nothing half-done: the sub-account was not made either.
    expect((await parent.get('/v1/sub-account?search=x&size=1000')).body.subAccounts).toEqual([]);
  });

  it('GET lists {count, subAccounts} in id order with search, status, hasApiKey and paging', async () => {
    const tag = `list${Date.now()}`;
    const made = [];
    for (const [name, extra] of [
      [`${tag} one`, {}],
      [`${tag} two`, { createApiKey: true }],
      [`${tag} three`, { status: 'Suspended' }],
    ] as const)
      made.push(await create({ name, ...extra }));
    const res = await parent.get(`/v1/sub-account?search=${tag.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      count: 3,
      subAccounts: made.map((m) => ({ id: m.id, name: m.subAccountName, status: m.status, createdAt: m.createdAt })),
    });
    const page = await parent.get(`/v1/sub-account?search=${tag}&page=2&size=2`);
    expect(page.body).toEqual({ count: 3, subAccounts: [expect.objectContaining({ id: made[2].id })] });
    const suspended = await parent.get(`/v1/sub-account?search=${tag}&status=suspended`);
    expect(suspended.body.subAccounts.map((s: any) => s.id)).toEqual([made[2].id]);
    const keyed = await parent.get(`/v1/sub-account?search=${tag}&hasApiKey=true`);
    expect(keyed.body.subAccounts.map((s: any) => s.id)).toEqual([made[1].id]);
    const unfiltered = await parent.get(`/v1/sub-account?search=${tag}&status=&hasApiKey=false`);
    expect(unfiltered.body.count).toBe(3);
    expect(errorCode(await parent.get('/v1/sub-account?status=Gone'), 422)).toBe('1401');
    // Another account sees none of them.
    const other = await server.newAccount();
    expect((await other.api.get(`/v1/sub-account?search=${tag}`)).body).toEqual({ count: 0, subAccounts: [] });
    expect(errorCode(await other.api.get(`/v1/sub-account/${made[0].id}`), 404)).toBe('1600');
    expect(errorCode(await other.api.put(`/v1/sub-account/${made[0].id}`, { name: 'mine' }), 404)).toBe('1600');
  });

  it("a sub-account's key sees only its own account and cannot manage sub-accounts", async () => {
    const sub = await create({ name: 'Own data', createApiKey: true });
    const key = new ApiClient(server.url, sub.apiKeys[0].key);
    expect(errorCode(await key.get('/v1/sub-account'), 403)).toBe('1301');
    expect(errorCode(await key.post('/v1/sub-account', { name: 'grandchild' }), 403)).toBe('1301');
    const account = await key.get('/v1/account');
    expect(account.body).toMatchObject({
      companyId: parentIntId,
      subAccountId: sub.id,
      subAccountName: 'Own data',
      status: 'Active',
      timezone: 'UTC',
      plan: 'self-hosted',
    });
    const whoami = await key.get('/api/v1/whoami');
    expect(whoami.body.data).toMatchObject({ id: sub.id, type: 'S', name: 'Own data' });
    expect((await parent.get('/api/v1/whoami')).body.data).toMatchObject({ id: parentIntId, type: 'L' });
  });

  it('with X-MT-ATTR a parent key acts on its sub-account: templates, webhooks, keys, sends', async () => {
    const sub = await create({ name: 'Acted on', createApiKey: true });
    const subKey = new ApiClient(server.url, sub.apiKeys[0].key);

    const template = await parent.post('/v1/template', { name: 'sub template', html: '<p>x</p>' }, acting(sub.id));
    expect(template.status, template.text).toBeLessThan(300);
    expect((await subKey.get('/v1/template')).text).toContain('sub template');
    expect((await parent.get('/v1/template')).text).not.toContain('sub template');
    expect((await parent.get('/v1/template', acting(sub.id))).text).toContain('sub template');

    const hook = await parent.post(
      '/v1/webhooks',
      { name: 'sub hook', target: 'http://127.0.0.1:9/hook', active: false },
      acting(sub.id),
    );
    expect(hook.status, hook.text).toBe(201);
    expect((await subKey.get('/v1/webhooks')).body.data.map((w: any) => w.id)).toEqual([hook.body.id]);
    expect((await parent.get('/v1/webhooks')).body.data.map((w: any) => w.id)).not.toContain(hook.body.id);

    const key = await parent.post('/v1/api-key', { name: 'made for the sub', permissionIds: [7] }, acting(sub.id));
    expect(key.status, key.text).toBe(201);
    expect(key.body).toMatchObject({ subAccountId: sub.id, subAccountName: 'Acted on', companyId: parentIntId });
    const listed = await parent.get(`/v1/api-key?subAccountId=${sub.id}&sort=id`);
    expect(listed.body.apiKeys.map((k: any) => k.id)).toEqual([sub.apiKeys[0].id, key.body.id]);
    expect(listed.body.apiKeys[1]).toMatchObject({ subAccountId: sub.id, subAccountName: 'Acted on' });
    // The sub-account's own key lists its own keys only.
    expect((await subKey.get('/v1/api-key')).body.count).toBe(2);

    const sent = await parent.post(SEND, mail(), acting(sub.id));
    expect(sent.status, sent.text).toBe(200);
    const messages = await subKey.get(`/v1/messages?transmissionId=${sent.body.transmissionId}`);
    expect(messages.body.count).toBe(1);
    expect((await parent.get(`/v1/messages?transmissionId=${sent.body.transmissionId}`)).body.count).toBe(0);

    const quota = await subKey.get('/v1/account/usage-quota');
    expect(quota.body).toMatchObject({ emailsSent: 1, emailsSentToday: 1, emailsQuota: 1000, emailsRemaining: 999 });
    const asParent = await parent.get('/v1/account/usage-quota');
    expect(asParent.body.emailsSent).toBe(0);
    expect((await parent.get('/v1/account/usage-quota', acting(sub.id))).body.emailsSent).toBe(1);

    // Its own id is no change; a malformed, unknown or foreign one is refused in the dialect.
    expect((await subKey.get('/v1/template', acting(sub.id))).status).toBe(200);
    expect((await parent.get('/v1/template', acting(''))).status).toBe(200);
    expect(errorCode(await parent.get('/v1/template', acting('abc')), 422)).toBe('1401');
    expect(errorCode(await parent.get('/v1/template', acting(2147483647)), 404)).toBe('1600');
    expect(errorCode(await subKey.get('/v1/template', acting(parentIntId)), 404)).toBe('1600');
    const marketing = await parent.get('/api/v1/channels', acting(2147483647));
    expect(marketing.status).toBe(404);
    expect(marketing.body).toMatchObject({ status: 'error', code: 1020, statusCode: 404 });
    expect((await parent.get('/api/v1/whoami', acting(sub.id))).body.data.id).toBe(sub.id);
  });

  it('a suspended sub-account cannot send (403, 1303) until it is Active again; reads go on', async () => {
    const sub = await create({ name: 'To suspend', createApiKey: true });
    const subKey = new ApiClient(server.url, sub.apiKeys[0].key);
    expect((await subKey.post(SEND, mail())).status).toBe(200);

    const suspended = await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Suspended' });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ id: sub.id, status: 'Suspended', subAccountName: 'To suspend' });
    const refused = await subKey.post(SEND, mail());
    expect(errorCode(refused, 403)).toBe('1303');
    expect(refused.body.errors[0]).toMatchObject({ message: 'account suspended' });
    expect(refused.body.message).toContain('suspended');
    expect(errorCode(await parent.post(SEND, mail(), acting(sub.id)), 403)).toBe('1303');
    expect((await subKey.get('/v1/messages')).status).toBe(200);
    expect((await subKey.get('/v1/account')).body.status).toBe('Suspended');

    // The marketing surface refuses its sends too, in its dialect.
    const mailing = await subKey.post('/api/v1/mailings', {
      name: 'm',
      subject: 's',
      html: '<p>x</p>',
      senderEmail: 'news@example.com',
    });
    expect(mailing.status, mailing.text).toBe(201);
    const send = await subKey.post(`/api/v1/mailings/${mailing.body.data.id}/send`);
    expect(send.status).toBe(403);
    expect(send.body).toMatchObject({ status: 'error', code: 1025, statusCode: 403 });

    const renamed = await parent.put(`/v1/sub-account/${sub.id}`, { name: 'Back again', status: 'active' });
    expect(renamed.body).toMatchObject({ status: 'Active', subAccountName: 'Back again' });
    expect((await subKey.post(SEND, mail())).status).toBe(200);
  });

  it('Terminated is final: its keys stop at once, nothing changes it back, its parent can still read it', async () => {
    const sub = await create({ name: 'To end', createApiKey: true });
    const subKey = new ApiClient(server.url, sub.apiKeys[0].key);
    await parent.post('/v1/template', { name: 'kept', html: '<p>kept</p>' }, acting(sub.id));
    expect((await subKey.get('/v1/template')).status).toBe(200);

    const ended = await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Terminated' });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ status: 'Terminated', apiKeys: [] });
    expect(errorCode(await subKey.get('/v1/template'), 401)).toBe('1300');

    expect(errorCode(await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Active' }), 422)).toBe('1401');
    expect(errorCode(await parent.put(`/v1/sub-account/${sub.id}`, { name: 'Revived' }), 422)).toBe('1401');
    expect((await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Terminated' })).status).toBe(200);

    expect((await parent.get('/v1/template', acting(sub.id))).text).toContain('kept');
    expect(errorCode(await parent.post('/v1/template', { name: 'new', html: 'x' }, acting(sub.id)), 403)).toBe('1303');
    expect(errorCode(await parent.post('/v1/api-key', { name: 'revive' }, acting(sub.id)), 403)).toBe('1303');
    expect(errorCode(await parent.post(SEND, mail(), acting(sub.id)), 403)).toBe('1303');
  });

  it('the analytics breakdown by SUBACCOUNT_ID shows the parent its sub-accounts', async () => {
    const fresh = await server.newAccount();
    const subs = [];
    for (const [name, n] of [
      ['Stats one', 1],
      ['Stats two', 3],
    ] as const) {
      const sub = (await fresh.api.post('/v1/sub-account', { name })).body;
      subs.push(sub.id);
      const res = await fresh.api.post(
        SEND,
        { ...mail(), to: Array.from({ length: n }, (_, i) => ({ email: `r${i}@example.org` })) },
        acting(sub.id),
      );
      expect(res.status, res.text).toBe(200);
    }
    const res = await fresh.api.get('/v1/analytic/summary/breakdown?groupBy=SUBACCOUNT_ID');
    expect(res.status, res.text).toBe(200);
    expect(res.body.map((r: any) => [r.name, r.injected])).toEqual([
      [String(subs[0]), 1],
      [String(subs[1]), 3],
    ]);
    // A sub-account's own breakdown has no sub-accounts.
    expect((await fresh.api.get('/v1/analytic/summary/breakdown?groupBy=SUBACCOUNT_ID', acting(subs[0]))).body).toEqual(
      [],
    );
  });

  it('GET /v1/account and /v1/account/usage-quota answer the contract’s fields for any key', async () => {
    const sender = new ApiClient(server.url, await server.newKey({ name: 'send only', permissions: ['send_api'] }));
    const account = await sender.get('/v1/account');
    expect(account.status).toBe(200);
    expect(account.body).toEqual({
      companyId: server.accountIntId,
      companyName: 'Default account',
      defaultSendingDomain: '',
      plan: 'self-hosted',
      status: 'Active',
      timezone: 'UTC',
      createdAt: expect.any(Number),
      apiKey: { id: expect.any(Number), name: 'send only', environment: 'production', permissionType: 'custom' },
    });
    await server.api.post('/v1/domain/sending', { domain: 'first.example.com' });
    expect((await sender.get('/v1/account')).body.defaultSendingDomain).toBe('first.example.com');

    const quota = await sender.get('/v1/account/usage-quota');
    expect(quota.status).toBe(200);
    expect(quota.body).toEqual({
      dailyLimit: 100,
      emailsQuota: 1000,
      emailsRemaining: 1000 - quota.body.emailsSent,
      emailsSent: expect.any(Number),
      emailsSentToday: expect.any(Number),
      maxAttachmentSizeMb: 15,
      maxRecipientsPerTransmission: 1000,
      percentUsed: expect.any(Number),
      period: 'monthly',
      periodStart: expect.stringMatching(/^\d{4}-\d{2}-01$/),
      plan: 'self-hosted',
      rateLimit: { requestsPerMinute: 30000, requestsPerSecond: 1000 },
    });
    for (const field of ['dailyLimit', 'emailsQuota', 'emailsRemaining', 'emailsSent', 'maxAttachmentSizeMb'])
      expect(Number.isInteger(quota.body[field])).toBe(true);
  });
});

describe(`usage-quota without limits (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_V1_RATE_PER_SECOND: '0', POSTHORN_MAX_BODY_MB: '8' });
  });
  afterAll(async () => server?.close());

  it('reports no limit as the largest integer the contract allows, so clients keep sending', async () => {
    expect((await server.api.post(SEND, mail())).status).toBe(200);
    const quota = (await server.api.get('/v1/account/usage-quota')).body;
    expect(quota).toMatchObject({
      dailyLimit: 2147483647,
      emailsQuota: 2147483647,
      emailsRemaining: 2147483647,
      emailsSent: 1,
      percentUsed: 0,
      maxAttachmentSizeMb: 6,
      rateLimit: { requestsPerMinute: 30000, requestsPerSecond: 2147483647 },
    });
  });
});

describe(`sub-accounts and keys on SMTP submission (${dialectName})`, () => {
  let server: TestServer;
  let parent: ApiClient;
  beforeAll(async () => {
    server = await startTestServer({}, { smtp: true });
    parent = (await server.newAccount()).api;
  });
  afterAll(async () => server?.close());

  const send = (key: string) =>
    nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: server.app.smtp!.port,
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: 'smtp_mt_injection', pass: key },
      })
      .sendMail({ from: 'sub@example.com', to: 'rcpt@example.org', subject: 'Hi', text: 'x' });

  it('a suspended sub-account cannot submit; a terminated one and a revoked key cannot log in', async () => {
    const sub = (await parent.post('/v1/sub-account', { name: 'SMTP sender', createApiKey: true })).body;
    const key = sub.apiKeys[0].key as string;
    expect((await send(key)).response).toMatch(/^250 /);

    await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Suspended' });
    await expect(send(key)).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringContaining('suspended'),
    });
    await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Active' });
    expect((await send(key)).response).toMatch(/^250 /);

    const other = (
      await parent.post('/v1/api-key', { name: 'to revoke' }, { headers: { 'X-MT-ATTR': String(sub.id) } })
    ).body;
    expect((await send(other.key)).response).toMatch(/^250 /);
    expect((await parent.delete(`/v1/api-key/${other.id}`)).body).toBe(true);
    await expect(send(other.key)).rejects.toMatchObject({ responseCode: 535 });

    await parent.put(`/v1/sub-account/${sub.id}`, { status: 'Terminated' });
    await expect(send(key)).rejects.toMatchObject({ responseCode: 535 });
  });
});
