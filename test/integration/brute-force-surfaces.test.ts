// The brute-force lock per surface, against a real server: wrong keys on /v1 lock /v1 (in its own
// dialect), never /api/v1 nor SMTP, and the other way round; no number of failures locks for more
// than an hour. The server's clock is shifted (ctx.clock is read on every lock decision), so the
// hour-long schedule runs in milliseconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { plainAuth, rawSmtp } from '../helpers/smtp-client.ts';
import { limitsFor } from '../../src/services/limits.ts';
import { REDIS_URL, haveRedis } from '../helpers/redis.ts';

const WRONG = 'Zz9Zz9Zz.' + '0123456789abcdef'.repeat(2);
const HOUR_S = 3600;

/** Shifts the server's clock from now on. */
function clockShifter(server: TestServer) {
  let offset = 0;
  server.app.ctx.clock = () => Date.now() + offset;
  return (ms: number) => (offset += ms);
}

const retryAfter = (res: ApiResponse) => Number(res.headers.get('retry-after'));

const stores: Array<[string, Record<string, string>]> = [
  ['in memory', {}],
  ...(haveRedis ? [['in Redis', { REDIS_URL }] as [string, Record<string, string>]] : []),
];

describe.each(stores)(`brute-force locks per surface, counted %s (${dialectName})`, (_name, env) => {
  let server: TestServer;
  let shift: (ms: number) => number;
  let smtpPort: number;

  const v1 = (key: string) => server.api.get('/v1/permission', { auth: `Bearer ${key}` });
  const api = (key: string) => server.api.get('/api/v1/whoami', { auth: `Bearer ${key}` });
  async function smtpAuth(key: string) {
    const s = await rawSmtp(smtpPort);
    try {
      await s.command('EHLO client.test');
      return await s.command(`AUTH PLAIN ${plainAuth('x', key)}`);
    } finally {
      s.close();
    }
  }
  /** Lets every lock end and the failure count start over (an hour and more without failures). */
  const forgetEverything = () => shift(2 * HOUR_S * 1000);

  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_SMTP_ALLOW_INSECURE_AUTH: 'true', ...env }, { smtp: true });
    smtpPort = server.app.smtp!.port;
    shift = clockShifter(server);
  });
  afterAll(async () => server?.close());

  it('/v1 failures lock /v1 with 429, code 1304 and Retry-After, and leave /api/v1 and SMTP open', async () => {
    for (let i = 1; i <= 4; i++) expect((await v1(WRONG)).status).toBe(401);
    expect((await v1(server.key)).status).toBe(200); // four failures: no lock yet
    expect((await v1(WRONG)).status).toBe(401); // the 5th locks 30 s
    const locked = await v1(server.key); // the right key is refused too, before it is looked at
    expect(locked.status).toBe(429);
    expect(retryAfter(locked)).toBe(30);
    expect(locked.body).toEqual({
      errors: [
        {
          message: 'too many failed authentications',
          description: 'too many failed authentications from 127.0.0.1; retry after 30 s',
          code: '1304',
        },
      ],
      message: 'too many failed authentications from 127.0.0.1; retry after 30 s',
    });
    // The other surfaces count their own failures.
    expect((await api(server.key)).status).toBe(200);
    expect((await smtpAuth(server.key)).code).toBe(235);
    shift(30_000);
    expect((await v1(server.key)).status).toBe(200);
    forgetEverything();
  });

  it('/api/v1 failures lock /api/v1 (code 1100) and leave /v1 and SMTP open', async () => {
    for (let i = 1; i <= 5; i++) expect((await api(WRONG)).status).toBe(401);
    const locked = await api(server.key);
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ code: 1100, statusCode: 429 });
    expect(retryAfter(locked)).toBe(30);
    expect((await v1(server.key)).status).toBe(200);
    expect((await smtpAuth(server.key)).code).toBe(235);
    // Failures on /v1 meanwhile add nothing to the /api/v1 count: after its lock, 3 more tries are free there.
    for (let i = 1; i <= 4; i++) expect((await v1(WRONG)).status).toBe(401);
    shift(30_000);
    expect((await api(server.key)).status).toBe(200);
    expect((await api(WRONG)).status).toBe(401); // the 6th /api/v1 failure: no lock (3 more tries)
    expect((await api(server.key)).status).toBe(200);
    forgetEverything();
  });

  it('SMTP failures lock SMTP only', async () => {
    for (let i = 1; i <= 5; i++) expect((await smtpAuth(WRONG)).code).toBe(535);
    const locked = await smtpAuth(server.key);
    expect(locked.code).toBe(454);
    expect(locked.text).toMatch(/try again in 30 s/);
    expect((await v1(server.key)).status).toBe(200);
    expect((await api(server.key)).status).toBe(200);
    forgetEverything();
  });

  it('walks the schedule up to a one-hour lock; after it the count starts over', async () => {
    // Each failure comes right after the previous lock ended.
    const seen: number[] = [];
    for (let failure = 1; failure <= 30; failure++) {
      expect((await v1(WRONG)).status).toBe(401);
      const res = await v1(server.key);
      if (res.status === 200) continue;
      expect(res.status).toBe(429);
      seen.push(retryAfter(res));
      shift(retryAfter(res) * 1000);
    }
    // 5 → 30 s, 8 → 60 s, 9 → 120 s, 10 → 5 min, 11 → 10 min, +5 min each up to the 21st (60 min);
    // the 22nd comes an hour after the 21st, so the count starts over: its 5th locks 30 s again.
    const minutes = [10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60].map((m) => m * 60);
    expect(seen).toEqual([30, 60, 120, 300, ...minutes, 30, 60, 120]);
    forgetEverything();
  });

  it('never locks longer than an hour, however many failures arrive at once', async () => {
    // Requests that pass the lock check together are all counted: 48 wrong keys in parallel used to
    // earn a lock of over three hours. Counted here through the service the HTTP layer uses.
    const limits = limitsFor(server.app.ctx);
    for (let i = 0; i < 48; i++) await limits.recordAuthFailure('v1', '127.0.0.1');
    const locked = await v1(server.key);
    expect(locked.status).toBe(429);
    expect(retryAfter(locked)).toBe(HOUR_S);
    expect((await api(server.key)).status).toBe(200);
    shift(HOUR_S * 1000 - 1000);
    expect(retryAfter(await v1(server.key))).toBe(1);
    shift(1000);
    expect((await v1(server.key)).status).toBe(200);
    forgetEverything();
  });

  it('a burst of wrong keys in parallel locks for an hour at most', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, () => v1(WRONG)));
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    const locked = await v1(server.key);
    expect(locked.status).toBe(429);
    // How many of the 40 were counted depends on how they interleaved (5 → 30 s at the least).
    expect(retryAfter(locked)).toBeGreaterThanOrEqual(1);
    expect(retryAfter(locked)).toBeLessThanOrEqual(HOUR_S);
    forgetEverything();
  });
});

describe(`POSTHORN_AUTH_LOCK=false (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_AUTH_LOCK: 'false' });
  });
  afterAll(async () => server?.close());

  it('never locks: wrong keys stay 401 and the right key keeps working', async () => {
    for (let i = 0; i < 12; i++) {
      expect((await server.api.get('/v1/permission', { auth: `Bearer ${WRONG}` })).status).toBe(401);
      expect((await server.api.get('/api/v1/whoami', { auth: `Bearer ${WRONG}` })).status).toBe(401);
    }
    expect((await server.api.get('/v1/permission')).status).toBe(200);
    expect((await server.api.get('/api/v1/whoami')).status).toBe(200);
  });
});
