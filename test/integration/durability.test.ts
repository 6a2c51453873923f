// Nothing accepted is lost and nothing is sent twice, even when the process is killed outright
// (SIGKILL: no shutdown code runs) while messages are on the wire. Posthorn runs as a child process
// here, delivering to a real SMTP server in this test; after the kill it is started again on the
// same database and must finish the work exactly once. Both transports that send mail away are
// tried: through a relay, and straight to the recipient domain's exchanger (mx), found through a
// DNS server in this test.
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { crashTestEnv, endCrashTest } from '../helpers/crash-test.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { waitFor, type ApiClient } from '../helpers/server.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { SENDING_TRANSPORTS, transportEnv } from '../helpers/transport-env.ts';

const TRANSMISSIONS_BEFORE = 2;
const TRANSMISSIONS_DURING = 4;
const RECIPIENTS = 50;
const TOTAL = (TRANSMISSIONS_BEFORE + TRANSMISSIONS_DURING) * RECIPIENTS;
// About ten seconds on a quiet two-core machine; the generous limits are for a busy one.
const PATIENCE_MS = 30_000;

async function sendBatch(api: ApiClient, batch: number): Promise<string> {
  const res = await api.post('/v1/layang/transmissions', {
    from: { email: 'sender@example.com' },
    to: Array.from({ length: RECIPIENTS }, (_, i) => ({
      email: `b${batch}-r${i}@example.org`,
      substitutionData: { n: i },
    })),
    subject: 'Batch {{batch}} #{{n}}',
    bodyText: 'Message {{n}} of batch {{batch}}',
    substitutionData: { batch },
  });
  expect(res.status, res.text).toBe(200);
  return res.body.transmissionId;
}

async function countWithStatus(api: ApiClient, status: string): Promise<number> {
  const res = await api.get(`/v1/messages?status=${status}&size=1`);
  expect(res.status, res.text).toBe(200);
  return res.body.count;
}

/** For failure messages: which Message-IDs arrived more than once, with their rows. */
function duplicates(sink: SmtpSink, rows: any[] = []): string {
  const seen = new Map<string, number>();
  for (const m of sink.messages) seen.set(m.messageId, (seen.get(m.messageId) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  const byHeader = new Map(rows.map((r) => [`<${r.messageIdHeader}>`, r]));
  return `${twice.length} Message-IDs arrived more than once: ${JSON.stringify(twice.slice(0, 5).map(([id, n]) => ({ id, n, row: byHeader.get(id) })))}`;
}

async function allMessages(api: ApiClient): Promise<any[]> {
  const res = await api.get('/v1/messages?size=1000');
  expect(res.status).toBe(200);
  return res.body.data;
}

describe.each(SENDING_TRANSPORTS)(`durability across a killed process (${dialectName}, %s)`, (transport) => {
  let db: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  let dns: DnsTestServer | undefined;
  const children: ChildServer[] = [];

  afterAll(async () => {
    await endCrashTest({ children, sink, dns, db });
  });

  it(
    `delivers each of ${TOTAL} accepted messages exactly once across a SIGKILL mid-batch`,
    { timeout: 120_000 },
    async () => {
      db = await createTestDatabase();
      sink = await startSmtpSink();
      dns = await startDnsServer();
      const env = crashTestEnv(db, transportEnv(transport, sink, dns));

      const first = await startChildServer(env);
      children.push(first);
      expect(first.firstKey, first.output()).toMatch(/^\w{8}\.[0-9a-f]{32}$/);
      const key = first.firstKey!;
      let api = first.api(key);
      const transmissions: string[] = [];

      // Some messages go all the way: delivered, and recorded as delivered.
      for (let b = 0; b < TRANSMISSIONS_BEFORE; b++) transmissions.push(await sendBatch(api, b));
      await sink.waitForCount(TRANSMISSIONS_BEFORE * RECIPIENTS, PATIENCE_MS);
      await waitFor(
        async () => (await countWithStatus(api, 'delivered')) === TRANSMISSIONS_BEFORE * RECIPIENTS,
        PATIENCE_MS,
        'the first batches to be recorded as delivered',
      );

      // Then the relay stops answering DATA: messages are on the wire, unanswered, when the process dies.
      let release!: () => void;
      sink.hold = new Promise<void>((resolve) => (release = resolve));
      for (let b = TRANSMISSIONS_BEFORE; b < TRANSMISSIONS_BEFORE + TRANSMISSIONS_DURING; b++)
        transmissions.push(await sendBatch(api, b));
      await waitFor(async () => sink!.held >= 4, PATIENCE_MS, 'messages in flight at the relay');
      const inFlightAtKill = sink.held;
      expect(await countWithStatus(api, 'delivered')).toBe(TRANSMISSIONS_BEFORE * RECIPIENTS);

      await first.kill();
      // The relay sees the connections drop; the replies it was holding now go nowhere and do not count.
      await waitFor(async () => sink!.openConnections === 0, 5000, 'the dead process’s connections to close');
      release();
      sink.hold = null;
      await waitFor(async () => sink!.held === 0, 2000, 'held replies to be released');
      expect(sink.messages.length, duplicates(sink)).toBe(TRANSMISSIONS_BEFORE * RECIPIENTS);

      // Start again on the same database: everything accepted and not yet delivered goes out, once.
      const second = await startChildServer(env);
      children.push(second);
      expect(second.firstKey).toBeNull(); // same database: the first start's key is still the key
      api = second.api(key);
      await sink.waitForCount(TOTAL, PATIENCE_MS);
      let last: any[] = [];
      const rows = await waitFor(
        async () => {
          const all = (last = await allMessages(api));
          return all.length === TOTAL && all.every((m) => m.status === 'delivered') ? all : null;
        },
        PATIENCE_MS,
        'every message to be recorded as delivered',
      ).catch((error) => {
        const pending = last.filter((m) => m.status !== 'delivered');
        throw new Error(
          `${(error as Error).message}; not delivered: ${JSON.stringify(pending.slice(0, 5))} (${pending.length})\n${second.output()}`,
        );
      });
      // A late duplicate would arrive now, if there were one.
      await new Promise((r) => setTimeout(r, 300));

      const received = sink.messages.map((m) => m.messageId);
      expect(received.length, `${duplicates(sink, rows)}\n${second.output()}`).toBe(TOTAL);
      expect(new Set(received).size).toBe(TOTAL);
      expect(new Set(received)).toEqual(new Set(rows.map((m) => `<${m.messageIdHeader}>`)));
      // Each Message-ID arrived for the recipient of its row.
      const recipientById = new Map(rows.map((m) => [`<${m.messageIdHeader}>`, m.recipient]));
      for (const m of sink.messages) expect(m.to).toEqual([recipientById.get(m.messageId)]);
      // The interrupted sends were tried again: at least the messages on the wire took a second attempt.
      expect(rows.filter((m) => m.attempts > 1).length).toBeGreaterThanOrEqual(inFlightAtKill);
      expect(new Set(rows.map((m) => m.transmissionId))).toEqual(new Set(transmissions));

      await second.stop();
    },
  );
});
