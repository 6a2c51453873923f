// Transactional mail goes first: while a 100,000-recipient mailing is sending through the same
// workers, a transmission's message reaches the SMTP sink within a second of being accepted.
// (The mailing need not finish here.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestServer } from '../helpers/server.ts';
import { startRelayedServer } from '../helpers/relay-server.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';

const SUBSCRIBERS = 100_000;

describe(`transactional mail during a large mailing (${dialectName})`, () => {
  let server: TestServer;
  let sink: SmtpSink;
  let slimmer: NodeJS.Timeout | undefined;
  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
    const s = sink;
    slimmer = setInterval(() => {
      for (const m of s.messages) if (m.raw.length && !m.to[0]!.startsWith('urgent')) m.raw = Buffer.alloc(0);
    }, 200);
  });
  afterAll(async () => {
    if (slimmer) clearInterval(slimmer);
    await server?.close();
    await sink?.close();
  });

  it('delivers a transmission within 1 s of acceptance while the mailing sends', { timeout: 180_000 }, async () => {
    // Subscribers straight into the store: seeding is not what is measured.
    const now = Date.now();
    const db = server.app.ctx.db;
    for (let start = 0; start < SUBSCRIBERS; start += 10_000) {
      await db.transaction().execute(async (trx) => {
        for (let i = start; i < start + 10_000; i += 500) {
          await trx
            .insertInto('subscribers')
            .values(
              Array.from({ length: 500 }, (_, k) => ({
                account_id: server.accountId,
                email: `m${i + k}@example.org`,
                status: 1,
                firstname: `F${i + k}`,
                created_at: now,
                updated_at: now,
              })),
            )
            .execute();
        }
      });
    }
    const created = await server.api.post('/api/v1/mailings', {
      name: 'Huge',
      senderEmail: 'news@example.com',
      subject: 'News for {{ firstname }}',
      html: '<p>Hello {{ firstname }}</p><a href="{{ unsubscribeUrl }}">unsubscribe</a>',
    });
    expect(created.status, created.text).toBe(201);
    const mailingId = created.body.data.id;
    expect((await server.api.post(`/api/v1/mailings/${mailingId}/send`)).status).toBe(200);
    // The worker is busy with the mailing.
    await sink.waitForCount(500, 60_000);

    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      const email = `urgent${round}@example.net`;
      const res = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'app@example.com' },
        to: [{ email }],
        subject: 'Password reset',
        bodyText: 'Your code',
      });
      expect(res.status, res.text).toBe(200);
      const accepted = Date.now();
      await waitFor(async () => sink.messages.some((m) => m.to[0] === email), 5000, `${email} at the sink`);
      latencies.push(Date.now() - accepted);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Still sending: the transactional messages did not wait for the mailing.
    const m = (await server.api.get(`/api/v1/mailings/${mailingId}`)).body.data;
    expect(m.status).toBe('sending');
    expect(sink.messages.filter((x) => x.to[0]!.startsWith('m')).length).toBeLessThan(SUBSCRIBERS);
    expect(Math.max(...latencies), `latencies ${latencies.join(', ')} ms`).toBeLessThan(1000);
  });
});
