// A dropped PostgreSQL connection must not end the process or lose accepted mail. For 20 s, eight
// clients submit transmissions while the worker delivers them through the relay to a real SMTP
// sink, and every 2 s every backend of the server's database is terminated (as a restart, a
// failover or a pooler would). Afterwards: the process still answers; every request was answered
// 200 or 503 with Retry-After in the transactional dialect, never 500; every transmission answered
// 200 exists, and each of its recipients arrived at the sink, once by Message-ID (the allowed
// duplicate of an outcome lost in flight carries the same Message-ID).
// The server runs in this process: an unhandled 'error' event would crash the test worker itself.
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pgBaseUrl } from '../helpers/database.ts';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const LOAD_MS = 20_000;
const TERMINATE_EVERY_MS = 2_000;
const CLIENTS = 8;
const RECIPIENTS_PER_TRANSMISSION = 2;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
  recipients: string[];
}

/** One client: submits transmissions back to back until `until`, recording every answer. */
async function submitUntil(api: ApiClient, until: number, client: number, answers: Answer[]): Promise<void> {
  for (let n = 0; Date.now() < until; n++) {
    const recipients = Array.from(
      { length: RECIPIENTS_PER_TRANSMISSION },
      (_, i) => `c${client}-${n}-${i}-${randomBytes(3).toString('hex')}@example.org`,
    );
    const res = await api.post('/v1/layang/transmissions', {
      from: { email: 'sender@example.com' },
      to: recipients.map((email) => ({ email })),
      subject: 'Fault test',
      bodyText: 'Hello',
    });
    answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: res.body, recipients });
  }
}

/** Terminates every backend of `database` every few seconds until `until`; returns how many it ended. */
async function terminateRepeatedly(database: string, until: number): Promise<number[]> {
  const admin = new pg.Client({ connectionString: pgBaseUrl! });
  await admin.connect();
  const ended: number[] = [];
  try {
    while (Date.now() + TERMINATE_EVERY_MS < until) {
      await new Promise((r) => setTimeout(r, TERMINATE_EVERY_MS));
      const res = await admin.query(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      ended.push(res.rows.filter((r) => r.ok).length);
    }
  } finally {
    await admin.end();
  }
  return ended;
}

describe.skipIf(!pgBaseUrl)('PostgreSQL connections terminated under load', () => {
  let server: TestServer | undefined;
  let sink: SmtpSink | undefined;

  // Closing waits for the messages in flight and for every connection to come back. Twice in CI this
  // teardown waited for ever on the store: a re-read's wrapper was shared by two holders and one
  // connection stayed checked out (fixed in store/resilient-driver.ts; its own test reproduces it).
  // The longer budget stays so that the helper names what it waits for should it happen again.
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  }, 120_000);

  it(
    'survives, answers 200 or 503 with Retry-After, and delivers every accepted message once',
    { timeout: 120_000 },
    async () => {
      sink = await startSmtpSink();
      server = await startTestServer({
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        // An outcome whose commit was lost with its connection is resent after the lease (same Message-ID).
        POSTHORN_LEASE_SECONDS: '4',
      });
      const database = new URL(server.db.url).pathname.slice(1);

      const answers: Answer[] = [];
      const until = Date.now() + LOAD_MS;
      const [ended] = await Promise.all([
        terminateRepeatedly(database, until),
        ...Array.from({ length: CLIENTS }, (_, c) => submitUntil(server!.api, until, c, answers)),
      ]);

      // The terminations really hit the server's connections.
      expect(ended.length).toBeGreaterThanOrEqual(LOAD_MS / TERMINATE_EVERY_MS - 2);
      expect(ended.filter((n) => n > 0).length, `backends ended per round: ${ended.join(',')}`).toBe(ended.length);

      // Alive and answering.
      const account = await server.api.get('/v1/account');
      expect(account.status, account.text).toBe(200);

      // Only 200 and 503; each 503 has Retry-After and speaks the transactional dialect.
      const byStatus = new Map<number, number>();
      for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
      expect(
        [...byStatus.keys()].filter((s) => s !== 200 && s !== 503),
        JSON.stringify([...byStatus]),
      ).toEqual([]);
      for (const a of answers.filter((x) => x.status === 503)) {
        expect(Number(a.retryAfter)).toBeGreaterThan(0);
        expect(a.body).toEqual({
          errors: [{ message: 'service unavailable', code: '1503', description: expect.any(String) }],
          message: expect.any(String),
        });
      }
      const accepted = answers.filter((a) => a.status === 200);
      expect(accepted.length).toBeGreaterThan(100);

      // Every transmission answered 200 exists with all its recipients.
      const stored = await server.app.ctx.db
        .selectFrom('messages')
        .select(['transmission_id', 'recipient'])
        .where(
          'transmission_id',
          'in',
          accepted.map((a) => a.body.transmissionId as string),
        )
        .execute();
      expect(stored.length).toBe(accepted.length * RECIPIENTS_PER_TRANSMISSION);

      // Each recipient of an accepted transmission arrives, and only ever with one Message-ID.
      const expected = accepted.flatMap((a) => a.recipients);
      const arrived = () => {
        const ids = new Map<string, Set<string>>();
        for (const m of sink!.messages) for (const to of m.to) ids.set(to, (ids.get(to) ?? new Set()).add(m.messageId));
        return ids;
      };
      await waitFor(
        () => Promise.resolve(expected.every((r) => arrived().has(r))),
        60_000,
        'every accepted recipient at the sink',
      );
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now
      const ids = arrived();
      const twice = [...ids].filter(([, set]) => set.size !== 1);
      expect(twice, 'recipients that got different Message-IDs').toEqual([]);
      for (const r of expected) expect(ids.get(r)?.size).toBe(1);
      console.info(
        `faults-postgres: ${answers.length} requests (${JSON.stringify(Object.fromEntries(byStatus))}), ` +
          `${ended.length} rounds of terminations (${ended.join(',')} backends), ` +
          `${sink.messages.length} messages at the sink for ${expected.length} accepted recipients`,
      );
    },
  );
});
