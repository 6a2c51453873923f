// The built dashboard served at /: index.html revalidated, hashed assets cached for a year, unknown
// page paths falling back to index.html, API paths keeping their JSON 404s in their dialects.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { DASHBOARD_DIST } from '../../src/http/dashboard/spa.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

describe('serving the dashboard', () => {
  it('GET / is the SPA, revalidated every time, with a CSP', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await res.text();
    expect(html).toContain('<div id="root">');
    // Everything it loads is its own: no CDN.
    expect(html).not.toMatch(/src="https?:/);
  });

  it('hashed assets are cached for a year', async () => {
    const asset = fs.readdirSync(path.join(DASHBOARD_DIST, 'assets')).find((f) => f.endsWith('.js'))!;
    const res = await fetch(`${server.url}/assets/${asset}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toMatch(/javascript/);
  });

  it('unknown page paths fall back to index.html; a missing asset is a 404', async () => {
    for (const page of ['/inbox', '/inbox/some-id', '/templates/welcome', '/sign-in']) {
      const res = await fetch(`${server.url}${page}`, { headers: { accept: 'text/html' } });
      expect(res.status, page).toBe(200);
      expect(await res.text()).toContain('<div id="root">');
    }
    expect((await fetch(`${server.url}/assets/missing-0000.js`)).status).toBe(404);
  });

  it('API 404s stay JSON in their dialects', async () => {
    const v1 = await fetch(`${server.url}/v1/no-such-thing`);
    expect(v1.status).toBe(404);
    expect((await v1.json()).errors[0].code).toBe('1600');
    const marketing = await fetch(`${server.url}/api/v1/no-such-thing`);
    expect(marketing.status).toBe(404);
    expect(marketing.headers.get('content-type')).toMatch(/json/);
    const session = await fetch(`${server.url}/dashboard-api/nothing`);
    expect(session.status).toBe(404);
    expect(session.headers.get('content-type')).toMatch(/json/);
  });
});
