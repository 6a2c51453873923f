// Dashboard sessions over real HTTP: signing in with the first-start link, an API key or a dashboard
// user; the session cookie standing in for a key on /v1 and /api/v1 only with its CSRF header;
// signing out (here and everywhere); the lock on failed sign-ins; accounts kept apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createDashboardUser } from '../../src/services/dashboard-sessions.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

interface Signed {
  cookie: string;
  csrf: string;
  status: number;
  setCookie: string;
  body: any;
}

async function signIn(credentials: object, headers: Record<string, string> = {}): Promise<Signed> {
  const res = await fetch(`${server.url}/dashboard-api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(credentials),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = await res.json();
  return { status: res.status, setCookie, cookie: setCookie.split(';')[0]!, csrf: body.csrfToken, body };
}

function withSession(s: Signed, opts: { csrf?: string | null; method?: string; body?: unknown; path: string }) {
  const headers: Record<string, string> = { cookie: s.cookie };
  const csrf = opts.csrf === undefined ? s.csrf : opts.csrf;
  if (csrf) headers['x-csrf-token'] = csrf;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${server.url}${opts.path}`, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
}

describe('signing in', () => {
  it('the first-start link signs in once, with an HttpOnly SameSite cookie', async () => {
    const link = server.app.dashboardUrl!;
    expect(link).toMatch(new RegExp(`^${server.url}/sign-in#token=[A-Za-z0-9_-]{40,}$`));
    const token = link.split('#token=')[1]!;
    const first = await signIn({ token });
    expect(first.status).toBe(200);
    expect(first.setCookie).toMatch(
      /^posthorn_session=[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    expect(first.body).toMatchObject({ signedInWith: 'key', accountId: server.accountIntId });
    const again = await signIn({ token });
    expect(again.status).toBe(401);
    expect(again.setCookie).toBe('');
  });

  it('an API key signs in; a wrong one is refused with the /v1 error shape', async () => {
    const ok = await signIn({ apiKey: server.key });
    expect(ok.status).toBe(200);
    expect(ok.csrf).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const wrong = await signIn({ apiKey: 'AAAAAAAA.00000000000000000000000000000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors[0].code).toBe('1300');
  });

  it('a dashboard user signs in with email and password (stored as scrypt)', async () => {
    await createDashboardUser(server.app.ctx, {
      accountId: server.accountId,
      email: 'Operator@Example.org',
      password: 'correct horse battery',
    });
    const row = await server.app.ctx.db.selectFrom('dashboard_users').select('password_hash').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(row.password_hash).not.toContain('correct horse');
    const ok = await signIn({ email: 'operator@example.org', password: 'correct horse battery' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ signedInWith: 'user', name: 'operator@example.org' });
    const res = await withSession(ok, { path: '/v1/template' });
    expect(res.status).toBe(200);
    expect((await signIn({ email: 'operator@example.org', password: 'wrong password!' })).status).toBe(401);
  });

  it('session tokens are stored hashed', async () => {
    const s = await signIn({ apiKey: server.key });
    const token = s.cookie.split('=')[1]!;
    const rows = await server.app.ctx.db.selectFrom('dashboard_sessions').select('token_hash').execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.token_hash)).not.toContain(token);
  });
});

describe('the session on the APIs', () => {
  it('acts as the key on /v1 and /api/v1 with the CSRF header, and not without it', async () => {
    const s = await signIn({ apiKey: server.key });
    expect((await withSession(s, { path: '/v1/template' })).status).toBe(200);
    expect((await withSession(s, { path: '/api/v1/subscribers' })).status).toBe(200);
    expect((await withSession(s, { path: '/v1/template', csrf: null })).status).toBe(401);
    expect((await withSession(s, { path: '/v1/template', csrf: 'x'.repeat(43) })).status).toBe(401);
  });

  it('a cross-site form post with the cookie (no CSRF header) changes nothing', async () => {
    const s = await signIn({ apiKey: server.key });
    // What a form on another site can send: the cookie (were SameSite ignored), a form body, no custom header.
    const res = await fetch(`${server.url}/api/v1/channels`, {
      method: 'POST',
      headers: {
        cookie: s.cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'name=Evil&senderEmail=evil%40example.com',
    });
    expect(res.status).toBe(401);
    const json = await withSession(s, {
      path: '/api/v1/channels',
      method: 'POST',
      csrf: null,
      body: { name: 'Evil', senderEmail: 'e@example.com' },
    });
    expect(json.status).toBe(401);
    const channels = await server.api.get('/api/v1/channels');
    expect(channels.body.data.map((c: { name: string }) => c.name)).not.toContain('Evil');
  });

  it("another account's session sees nothing of this one", async () => {
    await server.api.post('/v1/template', { id: 'only-mine', name: 'Mine', html: '<p>x</p>' });
    const other = await server.newAccount();
    const s = await signIn({ apiKey: other.key });
    const list = await (await withSession(s, { path: '/v1/template' })).json();
    expect(list.data.map((t: { id: string }) => t.id)).not.toContain('only-mine');
    expect((await withSession(s, { path: '/v1/template/only-mine' })).status).toBe(404);
  });

  it('revoking the key ends its sessions', async () => {
    const key = await server.newKey({ name: 'short-lived' });
    const s = await signIn({ apiKey: key });
    expect((await withSession(s, { path: '/v1/template' })).status).toBe(200);
    const keys = await server.api.get('/v1/api-key?size=100');
    const id = keys.body.apiKeys.find((k: { name: string }) => k.name === 'short-lived').id;
    expect((await server.api.delete(`/v1/api-key/${id}`)).status).toBe(200);
    expect((await withSession(s, { path: '/v1/template' })).status).toBe(401);
  });
});

describe('signing out', () => {
  it('signs this session out, and needs the CSRF token to', async () => {
    const s = await signIn({ apiKey: server.key });
    expect((await withSession(s, { path: '/dashboard-api/session', method: 'DELETE', csrf: null })).status).toBe(401);
    const out = await withSession(s, { path: '/dashboard-api/session', method: 'DELETE' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^posthorn_session=; Max-Age=0/);
    expect((await withSession(s, { path: '/v1/template' })).status).toBe(401);
  });

  it('signs out everywhere: every session of the same key, not those of others', async () => {
    const key = await server.newKey({ name: 'two browsers' });
    const a = await signIn({ apiKey: key });
    const b = await signIn({ apiKey: key });
    const other = await signIn({ apiKey: server.key });
    expect((await withSession(a, { path: '/dashboard-api/sessions', method: 'DELETE' })).status).toBe(204);
    expect((await withSession(b, { path: '/v1/template' })).status).toBe(401);
    expect((await withSession(other, { path: '/v1/template' })).status).toBe(200);
  });
});

describe('failed sign-ins', () => {
  it('lock the client after five failures, on a lock of their own', async () => {
    const ip = '203.0.113.77';
    const locked = await startTestServer({ POSTHORN_TRUST_PROXY: 'true' });
    try {
      const attempt = (apiKey: string) =>
        fetch(`${locked.url}/dashboard-api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ apiKey }),
        });
      for (let i = 0; i < 5; i++) expect((await attempt('AAAAAAAA.00000000000000000000000000000000')).status).toBe(401);
      const refused = await attempt(locked.key);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // The API itself is not locked for this address by dashboard failures.
      const api = await fetch(`${locked.url}/api/v1/channels`, {
        headers: { authorization: `Bearer ${locked.key}`, 'x-forwarded-for': ip },
      });
      expect(api.status).toBe(200);
    } finally {
      await locked.close();
    }
  });
});
