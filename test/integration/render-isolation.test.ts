// Rendering cannot stall the server: while one account submits a transmission whose later
// recipients make a nested Liquid loop expensive, and a 1,000-recipient one, another account's
// requests are answered as fast as before. The costly transmission is refused at accept (422), never
// answered 200 and then bounced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

const NESTED = '{% for a in (1..n) %}{% for b in (1..n) %}{% for c in (1..n) %}x{% endfor %}{% endfor %}{% endfor %}';

/** Latencies of `GET /v1/account` while `during` runs (at least `minMs`), one request at a time. */
async function latencies(api: ApiClient, during: Promise<unknown>, minMs: number): Promise<number[]> {
  let done = false;
  void during.finally(() => (done = true));
  const until = Date.now() + minMs;
  const out: number[] = [];
  while (!done || Date.now() < until) {
    const t0 = performance.now();
    const res = await api.get('/v1/account');
    out.push(performance.now() - t0);
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 10));
  }
  return out;
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * 0.95)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

describe(`rendering off the event loop (${dialectName})`, () => {
  let server: TestServer;
  let a: ApiClient;
  let b: ApiClient;

  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_BUILD_THREADS: '1' });
    a = server.api;
    b = (await server.newAccount()).api;
    // The threads are loaded and warm before anything is measured.
    const warm = await a.post('/v1/layang/transmissions', {
      from: { email: 'a@example.org' },
      to: [{ email: 'w1@example.net', substitutionData: { n: 1 } }, { email: 'w2@example.net' }],
      subject: 'warm',
      bodyHtml: `<p>${NESTED}</p>`,
    });
    expect(warm.status).toBe(200);
    await waitForTransmission(a, warm.body.transmissionId, 30_000);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("keeps another account's requests fast while a hostile and a large transmission are accepted and sent", async () => {
    const baseline = await latencies(b, Promise.resolve(), 1000);

    const hostile = a.post('/v1/layang/transmissions', {
      from: { email: 'a@example.org' },
      // Cheap for the first recipient (the only one rendered at accept before), seconds for the others.
      to: Array.from({ length: 16 }, (_, i) => ({
        email: `h${i}@example.net`,
        substitutionData: { n: i === 0 ? 1 : 400 },
      })),
      subject: 'Hi',
      bodyHtml: `<p>${NESTED}</p>`,
    });
    const large = a.post('/v1/layang/transmissions', {
      from: { email: 'a@example.org' },
      to: Array.from({ length: 1000 }, (_, i) => ({ email: `r${i}@example.net`, substitutionData: { name: `R${i}` } })),
      subject: 'Hello {{ name }}',
      bodyHtml: '<p>Dear {{ name }}, the news.</p>',
    });
    const sent = (async () => {
      const [h, l] = await Promise.all([hostile, large]);
      const deliveries = [l.status === 200 ? waitForTransmission(a, l.body.transmissionId, 120_000) : null];
      if (h.status === 200) deliveries.push(waitForTransmission(a, h.body.transmissionId, 120_000));
      return { h, l, delivered: await Promise.all(deliveries) };
    })();
    const during = await latencies(b, sent, 2000);
    const { h, l, delivered } = await sent;

    // B's latency under 100 ms (on a machine so loaded that B is slow even when idle, within 3x of
    // that). With ~100 samples p99 is the single slowest request, which other test files running in
    // parallel on 2 cores can delay on their own; so p95 is held to the bound and every request to
    // one second (the old code stalled B for ~30 s). bench-quiet runs show p99 under 100 ms.
    const limit = Math.max(100, 3 * p99(baseline));
    const report = `p95 ${p95(during).toFixed(1)} ms, p99 ${p99(during).toFixed(1)} ms over ${during.length} requests`;
    expect(p95(during), `${report} (idle p99 ${p99(baseline).toFixed(1)} ms)`).toBeLessThan(limit);
    expect(Math.max(...during), report).toBeLessThan(1000);
    expect(during.length).toBeGreaterThan(20);

    // A's costly transmission: refused at accept, or every message delivered; never 200 then bounced.
    if (h.status === 200) {
      expect(delivered[1]!.map((m: any) => m.status)).toEqual(Array(16).fill('captured'));
    } else {
      expect(h.status).toBe(422);
      expect(h.body.message ?? JSON.stringify(h.body)).toMatch(/too long to render/);
    }
    expect(l.status).toBe(200);
    expect(delivered[0]).toHaveLength(1000);
    expect(new Set(delivered[0]!.map((m: any) => m.status))).toEqual(new Set(['captured']));
  }, 180_000);
});
