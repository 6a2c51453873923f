// POSTHORN_TRUST_PROXY against a real server: off, a request with X-Forwarded-For makes the server
// warn in its log, once; on, the forwarded address is the client's (each client behind the proxy
// has its own brute-force lock) and nothing is logged.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { dialectName } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const WRONG = 'Zz9Zz9Zz.' + '0123456789abcdef'.repeat(2);

/** A Posthorn whose log lines (warn and up) are kept for the test to read. */
async function startLogged(env: Record<string, string>) {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  const server = await startTestServer(env, { log: pino({ level: 'warn' }, sink) });
  return { server, lines, api: server.api };
}

const proxyWarnings = (lines: Array<{ level: number; msg: string }>) =>
  lines.filter((l) => l.msg.includes('X-Forwarded-For') && l.msg.includes('POSTHORN_TRUST_PROXY'));

describe(`POSTHORN_TRUST_PROXY (${dialectName})`, () => {
  let off: Awaited<ReturnType<typeof startLogged>>;
  let on: Awaited<ReturnType<typeof startLogged>>;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    off = await startLogged({});
    on = await startLogged({ POSTHORN_TRUST_PROXY: 'true' });
    servers.push(off.server, on.server);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('off: warns once when requests arrive with X-Forwarded-For, never without', async () => {
    expect((await off.api.get('/v1/permission')).status).toBe(200);
    expect((await off.api.get('/p/nothing-here')).status).toBe(404);
    expect(proxyWarnings(off.lines)).toHaveLength(0);
    for (const forwarded of ['203.0.113.9', '198.51.100.4', '203.0.113.9, 10.0.0.1']) {
      const res = await off.api.get('/v1/permission', { headers: { 'x-forwarded-for': forwarded } });
      expect(res.status).toBe(200);
    }
    const warnings = proxyWarnings(off.lines);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].level).toBe(40); // warn
    expect(warnings[0].msg).toContain('every client is taken to be 127.0.0.1');
  });

  it('off: the forwarded address is ignored, so all clients share the lock of the proxy address', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await off.api.get('/v1/permission', {
        auth: `Bearer ${WRONG}`,
        headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
      });
      expect(res.status).toBe(401);
    }
    const other = await off.api.get('/v1/permission', { headers: { 'x-forwarded-for': '198.51.100.77' } });
    expect(other.status).toBe(429);
    expect(proxyWarnings(off.lines)).toHaveLength(1);
  });

  it('on: each forwarded client has its own lock, and nothing is logged', async () => {
    const as = (ip: string, auth?: string) =>
      on.api.get('/v1/permission', { headers: { 'x-forwarded-for': ip }, ...(auth ? { auth } : {}) });
    for (let i = 0; i < 5; i++) expect((await as('203.0.113.9', `Bearer ${WRONG}`)).status).toBe(401);
    expect((await as('203.0.113.9')).status).toBe(429);
    expect((await as('198.51.100.4')).status).toBe(200);
    expect(proxyWarnings(on.lines)).toHaveLength(0);
  });
});
