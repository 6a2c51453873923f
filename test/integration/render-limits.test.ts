// The template limits come from configuration (the POSTHORN_LIQUID settings and POSTHORN_ACCEPT_RENDER_BUDGET_MS),
// and a send that breaks them is refused at accept in the surface's own dialect: 422 on /v1, the
// marketing API's validation error on a trigger send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

// Loops over a list (no range: the memory limit of the `tight` server is not what stops it).
const NESTED = '{% for a in list %}{% for b in list %}{% for c in list %}x{% endfor %}{% endfor %}{% endfor %}';
const list = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('rendering settings', () => {
  it('reads the limits, the budget and the threads, with defaults', () => {
    expect(loadConfig({}).rendering).toMatchObject({
      limits: { parseLimit: 5_000_000, renderLimitMs: 2000, memoryLimit: 64 * 1024 * 1024 },
      acceptBudgetMs: 1000,
      buildTimeoutMs: 10_000,
    });
    expect(loadConfig({}).rendering.buildThreads).toBeGreaterThanOrEqual(1);
    expect(
      loadConfig({
        POSTHORN_LIQUID_PARSE_LIMIT: '2000',
        POSTHORN_LIQUID_RENDER_LIMIT_MS: '50',
        POSTHORN_LIQUID_MEMORY_LIMIT: '3000',
        POSTHORN_ACCEPT_RENDER_BUDGET_MS: '20',
        POSTHORN_BUILD_THREADS: '3',
        POSTHORN_BUILD_TIMEOUT_MS: '500',
      }).rendering,
    ).toEqual({
      limits: { parseLimit: 2000, renderLimitMs: 50, memoryLimit: 3000 },
      acceptBudgetMs: 20,
      buildThreads: 3,
      buildTimeoutMs: 500,
    });
  });

  it.each([
    [{ POSTHORN_BUILD_THREADS: '0' }, /POSTHORN_BUILD_THREADS must be between 1 and 64/],
    [{ POSTHORN_LIQUID_RENDER_LIMIT_MS: 'fast' }, /POSTHORN_LIQUID_RENDER_LIMIT_MS must be a whole number/],
    [{ POSTHORN_BUILD_TIMEOUT_MS: '5' }, /POSTHORN_BUILD_TIMEOUT_MS must be between/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe(`template limits at accept (${dialectName})`, () => {
  let tight: TestServer;
  let frugal: TestServer;

  beforeAll(async () => {
    [tight, frugal] = await Promise.all([
      startTestServer({
        POSTHORN_LIQUID_RENDER_LIMIT_MS: '50',
        POSTHORN_LIQUID_PARSE_LIMIT: '1000',
        POSTHORN_LIQUID_MEMORY_LIMIT: '1000',
      }),
      startTestServer({ POSTHORN_ACCEPT_RENDER_BUDGET_MS: '10' }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tight?.close(), frugal?.close()]);
  });

  const send = (server: TestServer, bodyHtml: string, to: Array<Record<string, unknown>>) =>
    server.api.post('/v1/layang/transmissions', { from: { email: 'a@example.org' }, to, subject: 'Hi', bodyHtml });

  it('applies POSTHORN_LIQUID_RENDER_LIMIT_MS to each render', async () => {
    const res = await send(tight, NESTED, [{ email: 'x@example.net', substitutionData: { list: list(300) } }]);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/template render limit exceeded/);
    // The same template with cheap data is fine.
    expect((await send(tight, NESTED, [{ email: 'x@example.net', substitutionData: { list: list(2) } }])).status).toBe(
      200,
    );
  });

  it('applies POSTHORN_LIQUID_PARSE_LIMIT to the template', async () => {
    const res = await send(tight, `<p>${'a'.repeat(2000)}</p>`, [{ email: 'x@example.net' }]);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/parse length limit exceeded/);
  });

  it('applies POSTHORN_LIQUID_MEMORY_LIMIT, naming the recipient whose data broke it', async () => {
    const res = await send(tight, '{% for i in (1..n) %}.{% endfor %}', [
      { email: 'x@example.net', substitutionData: { n: 5 } },
      { email: 'y@example.net', substitutionData: { n: 5000 } },
    ]);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/memory alloc limit exceeded.*to\[1\]/);
  });

  it('refuses a send whose recipients together take longer than POSTHORN_ACCEPT_RENDER_BUDGET_MS', async () => {
    // Each recipient is cheap (within every Liquid limit); fifty of them are not, with a 10 ms budget.
    const to = Array.from({ length: 50 }, (_, i) => ({ email: `r${i}@example.net`, substitutionData: { n: 900 + i } }));
    const res = await send(frugal, '{% for i in (1..n) %}{{ i | times: 2 }},{% endfor %}', to);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/take too long to render.*at most 10 ms/);
  });

  it('refuses a costly trigger send in the marketing dialect', async () => {
    const api = tight.api;
    const mailing = await api.post('/api/v1/mailings', {
      name: 'Costly',
      type: 'trigger',
      triggerKey: 'costly',
      subject: 'Hi',
      html: '<p>{% for i in (1..data.n) %}.{% endfor %}</p>',
      senderEmail: 'news@example.org',
    });
    expect(mailing.status, mailing.text).toBe(201);
    expect((await api.post(`/api/v1/mailings/${mailing.body.data.id}/send`)).status).toBe(200);
    const ok = await api.post('/api/v1/triggerTypes/costly/send', { email: 'a@example.net', data: { n: 3 } });
    expect(ok.status, ok.text).toBeLessThan(300);
    const res = await api.post('/api/v1/triggerTypes/costly/send', { email: 'b@example.net', data: { n: 5000 } });
    expect(res.status, res.text).toBe(422);
    expect(res.text).toMatch(/memory alloc limit exceeded/);
  });
});
