// A 50,000-recipient mailing survives a killed process (SIGKILL mid-send): started again on the
// same database, the fan-out continues from its cursor and every recipient gets exactly one
// message — asserted by Message-ID at a real SMTP sink.
// Mailings deliver at ~180–330 msg/s through the relay on these machines (BENCHMARKS.md), so this
// takes a few minutes; MAILING_CRASH_RECIPIENTS=5000 runs a quick version while developing.
// It runs once per transport that sends mail away (relay, and mx: the sink is example.org's
// exchanger); MAILING_CRASH_TRANSPORTS=relay runs one.
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { crashTestEnv, endCrashTest } from '../helpers/crash-test.ts';
import { keepHeadersOnly, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { waitFor, type ApiClient } from '../helpers/server.ts';
import { openStore } from '../../src/store/db.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { SENDING_TRANSPORTS, transportEnv, type SendingTransport } from '../helpers/transport-env.ts';

const TRANSPORTS = (process.env.MAILING_CRASH_TRANSPORTS?.split(',') ?? SENDING_TRANSPORTS) as SendingTransport[];
import { seedReadySubscribers, sendMailingToAll } from '../helpers/mailing-fixtures.ts';

const RECIPIENTS = Number(process.env.MAILING_CRASH_RECIPIENTS ?? 50_000);
const PATIENCE_MS = Math.max(150_000, RECIPIENTS * 15);

/**
 * Ready subscribers straight into the store, through a connection of the test's own, for the
 * account with this integer id (whoami's id).
 */
async function seedSubscribers(url: string, accountIntId: number, n: number): Promise<void> {
  const store = await openStore(url, { sqliteSynchronous: 'NORMAL' });
  try {
    await seedReadySubscribers(store.db, accountIntId, n);
  } finally {
    await store.close();
  }
}

async function deliveredCount(api: ApiClient, mailingId: number): Promise<number> {
  const res = await api.get(
    `/api/v1/mailings/${mailingId}/recipients?limit=1&search=${encodeURIComponent(JSON.stringify([{ status: 'delivered' }]))}`,
  );
  expect(res.status, res.text).toBe(200);
  return res.body.meta.pagination.total;
}

describe.each(TRANSPORTS)(`a mailing across a killed process (${dialectName}, %s)`, (transport) => {
  let db: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  let dns: DnsTestServer | undefined;
  let slimmer: NodeJS.Timeout | undefined;
  const children: ChildServer[] = [];

  afterAll(async () => {
    if (slimmer) clearInterval(slimmer);
    await endCrashTest({ children, sink, dns, db });
  });

  it(
    `delivers each of ${RECIPIENTS} recipients exactly once across a SIGKILL mid-send`,
    { timeout: Math.max(240_000, RECIPIENTS * 20) },
    async () => {
      db = await createTestDatabase();
      sink = await startSmtpSink();
      // Only the Message-ID and recipient of each received message are needed: drop the rest as we go.
      slimmer = keepHeadersOnly(sink);
      dns = await startDnsServer();
      // As many connections either way (the relay pool's default).
      const env = crashTestEnv(db, transportEnv(transport, sink, dns, 32));
      const first = await startChildServer(env);
      children.push(first);
      const key = first.firstKey!;
      let api = first.api(key);
      const accountIntId = (await api.get('/api/v1/whoami')).body.data.id as number;
      await seedSubscribers(db.url, accountIntId, RECIPIENTS);

      const mailingId = await sendMailingToAll(api, 'Big');

      // Let part of it go out, then stop answering DATA so that, at the kill, every message the
      // relay accepted is recorded and the ones on the wire are unanswered.
      await sink.waitForCount(Math.min(3000, RECIPIENTS / 4), PATIENCE_MS);
      let release!: () => void;
      sink.hold = new Promise<void>((resolve) => (release = resolve));
      await waitFor(async () => sink!.held >= 4, 30_000, 'messages in flight at the relay');
      await waitFor(
        async () => (await deliveredCount(api, mailingId)) === sink!.messages.length,
        30_000,
        'accepted messages to be recorded',
      );
      const beforeKill = sink.messages.length;
      expect(beforeKill).toBeLessThan(RECIPIENTS);
      await first.kill();
      await waitFor(async () => sink!.openConnections === 0, 5000, 'the dead process’s connections to close');
      release();
      sink.hold = null;
      await waitFor(async () => sink!.held === 0, 5000, 'held replies to be released');
      expect(sink.messages.length).toBe(beforeKill);

      const second = await startChildServer(env);
      children.push(second);
      api = second.api(key);
      await sink.waitForCount(RECIPIENTS, PATIENCE_MS).catch((e) => {
        throw new Error(`${(e as Error).message}\n${second.output().slice(-3000)}`);
      });
      await waitFor(
        async () => (await api.get(`/api/v1/mailings/${mailingId}`)).body.data.status === 'sent',
        60_000,
        'the mailing to be sent',
      );
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now

      const ids = sink.messages.map((m) => m.messageId);
      expect(ids.length).toBe(RECIPIENTS);
      expect(new Set(ids).size).toBe(RECIPIENTS);
      expect(new Set(sink.messages.map((m) => m.to[0])).size).toBe(RECIPIENTS);
      const mailing = (await api.get(`/api/v1/mailings/${mailingId}`)).body.data;
      expect(mailing.recipientCount).toBe(RECIPIENTS);
      expect(await deliveredCount(api, mailingId)).toBe(RECIPIENTS);
      await second.stop();
    },
  );
});
