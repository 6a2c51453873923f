// An accept wakes the delivery worker of its process at once: a transmission never waits for the
// worker's next poll, even when it is accepted while the worker is in the middle of a turn (its
// claim query on the wire, say, which on PostgreSQL takes real time). With the poll interval set
// to a minute, a lost wake-up shows as a message that does not arrive for a minute.
// Transmissions go one at a time, each as soon as the previous one arrived, as on an idle server
// (bench/latency.ts measures the same path): the next accept then lands while the worker is still
// recording the previous outcome and polling for more, the moment a wake-up could be lost.
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { waitFor } from '../helpers/server.ts';

const SENDS = Number(process.env.WAKE_ON_ACCEPT_SENDS ?? 200);
/** Far below the poll interval, far above a slow machine's latency. */
const ARRIVAL_LIMIT_MS = 15_000;

describe(`wake on accept (${dialectName})`, () => {
  let db: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  let server: ChildServer | undefined;

  afterAll(async () => {
    await server?.kill();
    await sink?.close();
    await db?.drop();
  });

  it(`delivers each of ${SENDS} transmissions sent one at a time without waiting for a poll`, async () => {
    db = await createTestDatabase();
    sink = await startSmtpSink();
    server = await startChildServer(
      {
        DATABASE_URL: db.url,
        POSTHORN_DATA_DIR: db.dataDir,
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        POSTHORN_SQLITE_SYNCHRONOUS: 'NORMAL',
        POSTHORN_WORKER_POLL_MS: '60000',
      },
      { timeoutMs: 60_000 },
    );
    const api = server.api(server.firstKey!);
    const s = sink;
    for (let i = 0; i < SENDS; i++) {
      const res = await api.post('/v1/layang/transmissions', {
        from: { email: 'sender@example.com' },
        to: [{ email: `wake${i}@example.org` }],
        subject: `Message ${i}`,
        bodyText: 'Hello',
      });
      expect(res.status, res.text).toBe(200);
      const sentAt = Date.now();
      await waitFor(async () => s.messages.length > i, ARRIVAL_LIMIT_MS, `message ${i} to arrive`).catch(() => {
        throw new Error(`message ${i} of ${SENDS} did not arrive within ${ARRIVAL_LIMIT_MS} ms of its accept`);
      });
      expect(Date.now() - sentAt).toBeLessThan(ARRIVAL_LIMIT_MS);
    }
    expect(s.messages.map((m) => m.to[0])).toEqual(Array.from({ length: SENDS }, (_, i) => `wake${i}@example.org`));
  }, 300_000);
});
