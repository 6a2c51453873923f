// Direct MX delivery, politeness: a domain's connection limit holds however much mail is queued
// for it (measured at its server), a domain that answers 421 is backed off without a connection
// per message, and meanwhile another domain keeps its configured rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { startMxWorld, type MxServer, type MxWorld } from '../helpers/mx-world.ts';
import { dialectName } from '../helpers/database.ts';

describe(`mx delivery: politeness (${dialectName})`, () => {
  let world: MxWorld;
  let server: TestServer;
  let slow: MxServer; // 127.0.0.2: takes 30 ms over MAIL FROM, so sends overlap
  let steady: MxServer; // 127.0.0.3
  let throttling: MxServer; // 127.0.0.4: greets with 421

  async function sendMany(domain: string, n: number, prefix = 'r') {
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'sender@posthorn-polite.example' },
      to: Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@${domain}` })),
      subject: 'Hello',
      bodyText: 'A polite message',
    });
    expect(res.status, res.text).toBe(200);
    return res.body.transmissionId as string;
  }

  async function messages(transmissionId: string): Promise<any[]> {
    return (await server.api.get(`/v1/messages?transmissionId=${transmissionId}&size=1000`)).body.data;
  }

  beforeAll(async () => {
    world = await startMxWorld();
    slow = await world.addServer('127.0.0.2', {
      onMailFrom(_address, _session, callback) {
        setTimeout(() => callback(), 30);
      },
    });
    steady = await world.addServer('127.0.0.3');
    throttling = await world.addServer('127.0.0.4', {
      onConnect(_session, callback) {
        callback(
          Object.assign(new Error('4.7.0 Too many connections from your IP, try again later'), { responseCode: 421 }),
        );
      },
    });
    world.route('limited.example', [10, 'mx.limited.example', '127.0.0.2']);
    world.route('steady.example', [10, 'mx.steady.example', '127.0.0.3']);
    world.route('throttled.example', [10, 'mx.throttled.example', '127.0.0.4']);
    server = await startTestServer({
      ...world.env(),
      POSTHORN_MX_DOMAIN_LIMITS: 'limited.example:connections=3; steady.example:connections=4,rate=20/s',
    });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  it('never has more connections open to a domain than its limit, however much is queued', async () => {
    const id = await sendMany('limited.example', 60);
    await slow.waitForCount(60, 60_000);
    const all = await waitFor(
      async () => {
        const list = await messages(id);
        return list.length === 60 && list.every((m) => m.status === 'delivered') ? list : null;
      },
      20_000,
      'every message recorded as delivered',
    );
    expect(slow.peakConnections).toBeLessThanOrEqual(3);
    expect(slow.peakConnections).toBeGreaterThanOrEqual(2);
    // Messages the domain could not take at once went back to the queue untried: one attempt each.
    expect(all.every((m) => m.attempts === 1)).toBe(true);
    const delays = await server.app.ctx.db
      .selectFrom('events')
      .select('id')
      .where('transmission_id', '=', id)
      .where('type', '=', 'delay')
      .execute();
    expect(delays).toHaveLength(0);
  });

  it('backs off a domain that answers 421 while another domain keeps its rate', async () => {
    const throttledId = await sendMany('throttled.example', 40, 't');
    const steadyId = await sendMany('steady.example', 60, 's');
    await steady.waitForCount(60, 30_000);
    const throttled = await waitFor(
      async () => {
        const list = await messages(throttledId);
        return list.length === 40 && list.every((m) => m.status === 'deferred') ? list : null;
      },
      10_000,
      'every message to the throttling domain to be deferred',
    );
    // Backed off: a handful of connections (the ones in flight when it first said 421), not one per message.
    expect(throttling.connections).toBeGreaterThanOrEqual(1);
    expect(throttling.connections).toBeLessThanOrEqual(10);
    const suspended = throttled.filter((m) => /suspended/.test(m.lastResponse));
    expect(suspended.length).toBeGreaterThan(25);
    // …until the backoff ends, 30 s or more from now.
    for (const m of throttled) expect(Date.parse(m.nextAttemptAt) - Date.now()).toBeGreaterThan(20_000);
    const delivered = await waitFor(
      async () => {
        const list = await messages(steadyId);
        return list.every((m) => m.status === 'delivered') ? list : null;
      },
      10_000,
      'the steady domain recorded as delivered',
    );
    const times = delivered.map((m) => Date.parse(m.deliveredAt)).sort((a, b) => a - b);
    const seconds = (times.at(-1)! - times[0]!) / 1000;
    // 60 messages at 20/s with a burst of 4: about 2.8 s; the throttling domain did not slow it down.
    expect(seconds).toBeGreaterThan(2.2);
    expect(seconds).toBeLessThan(5);
  });
});
