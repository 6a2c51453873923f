// Nothing accepted is lost and nothing is sent twice when Posthorn runs as several processes on one
// PostgreSQL database and any of them is killed outright (SIGKILL) and started again: two API
// processes (POSTHORN_API_PROCESSES, node:cluster) and two worker processes, each worker building
// its messages in a build thread (POSTHORN_BUILD_THREADS=1). While a mailing goes out and
// transmissions keep coming in, the test kills an API process, each worker mid-send and the
// cluster's primary, restarts what it killed, and checks at a real SMTP sink that every accepted
// message arrived exactly once.
// A worker is killed while the sink holds its DATA replies, as in durability.test.ts: a message the
// relay accepted in the last moments before a kill (its outcome not yet committed) is sent again
// after the restart by design — at-least-once is the contract at that one step — so the kill
// happens when every reply sent so far has been recorded. (Killed without the hold, the two worker
// kills of this test sent 37 messages twice, each with the same Message-ID, in one run on a loaded
// machine: the outcomes of the last ~0.1 s of replies.)
// On SQLite the crash tests (durability, mailings-crash) already kill while the build thread runs:
// every build goes through the pool, which has at least one thread.
// CRASH_PROCESSES_RECIPIENTS sets the mailing's size (default 3000).
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgBaseUrl, type TestDatabase } from '../helpers/database.ts';
import { childrenOf, requestOnce, startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { keepHeadersOnly, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { ApiClient, waitFor } from '../helpers/server.ts';
import { seedReadySubscribers, sendMailingToAll } from '../helpers/mailing-fixtures.ts';
import { openStore } from '../../src/store/db.ts';

const RECIPIENTS = Number(process.env.CRASH_PROCESSES_RECIPIENTS ?? 3000);
/** Recipients per transmission; transmissions are sent one after another for as long as the kills go on. */
const PER_TRANSMISSION = 5;
const PATIENCE_MS = Math.max(60_000, RECIPIENTS * 20);
const START_MS = 90_000;

/** Sends transmissions one at a time until stopped; each is retried with its Idempotency-Key until accepted. */
class TransmissionSender {
  accepted = 0;
  retries = 0;
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {
    this.done = this.run();
  }

  static recipient(t: number, i: number): string {
    return `t${t}-r${i}@example.org`;
  }

  async stop(): Promise<number> {
    this.stopping = true;
    await this.done;
    return this.accepted;
  }

  private async run(): Promise<void> {
    for (let t = 0; !this.stopping; t++) {
      await this.sendUntilAccepted(t);
      this.accepted = t + 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * A request cut off by a kill may or may not have been committed: the retry under the same key
   * either commits it or gets the first answer again, never a second transmission.
   */
  private async sendUntilAccepted(t: number): Promise<void> {
    const body = {
      from: { email: 'sender@example.com' },
      to: Array.from({ length: PER_TRANSMISSION }, (_, i) => ({ email: TransmissionSender.recipient(t, i) })),
      subject: `Transmission ${t}`,
      bodyText: 'Hello {{email}}',
    };
    for (;;) {
      const res = await requestOnce(this.url, '/v1/layang/transmissions', this.key, body, {
        'idempotency-key': `t${t}`,
      }).catch((error: unknown) => ({ status: 0, text: String(error) }));
      if (res.status === 200) return;
      // Refused connections while the cluster restarts, a reset when its process dies; 5xx while a store
      // connection is lost with it. Anything else is a real error.
      if (res.status !== 0 && res.status < 500) throw new Error(`transmission ${t}: ${res.status} ${res.text}`);
      this.retries++;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe.skipIf(pgBaseUrl === null)('crashes of API and worker processes on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  let slimmer: NodeJS.Timeout | undefined;
  const children: ChildServer[] = [];

  afterAll(async () => {
    if (slimmer) clearInterval(slimmer);
    for (const c of children) await c.kill();
    if (sink) {
      sink.hold = null;
      await sink.close();
    }
    await db?.drop();
  });

  async function rows(): Promise<Array<{ recipient: string; status: string; message_id_header: string | null }>> {
    const store = await openStore(db!.url);
    try {
      return await store.db.selectFrom('messages').select(['recipient', 'status', 'message_id_header']).execute();
    } finally {
      await store.close();
    }
  }

  const deliveredRows = async () => (await rows()).filter((r) => r.status === 'delivered').length;

  const start = async (env: Record<string, string>, port?: number) => {
    const child = await startChildServer(env, { timeoutMs: START_MS, port });
    children.push(child);
    return child;
  };

  /**
   * Kills a worker while the sink holds every DATA reply, once each reply sent so far is recorded;
   * the replies held for the dead worker's connections then go nowhere and do not count.
   */
  async function killWorkerMidSend(worker: ChildServer): Promise<void> {
    const s = sink!;
    let release!: () => void;
    s.hold = new Promise<void>((resolve) => (release = resolve));
    await waitFor(async () => s.held >= 4, 30_000, 'messages in flight at the relay');
    await waitFor(async () => (await deliveredRows()) === s.messages.length, 30_000, 'replies to be recorded');
    const received = s.messages.length;
    await worker.kill();
    // The sink learns of the closed connections from the kernel at once; a moment for its event loop.
    await new Promise((r) => setTimeout(r, 500));
    release();
    s.hold = null;
    await waitFor(async () => s.held === 0, 10_000, 'held replies to be released');
    expect(s.messages.length).toBeGreaterThanOrEqual(received);
  }

  it(
    `delivers a ${RECIPIENTS}-recipient mailing and every accepted transmission exactly once across SIGKILLs`,
    { timeout: PATIENCE_MS + 6 * START_MS },
    async () => {
      db = await createTestDatabase();
      sink = await startSmtpSink();
      // Only the Message-ID and recipient of each received message are needed: drop the rest as we go.
      const s = sink;
      slimmer = keepHeadersOnly(s);
      const env = {
        DATABASE_URL: db.url,
        POSTHORN_DATA_DIR: db.dataDir,
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        POSTHORN_WORKER_POLL_MS: '20',
        // The rows a dead worker leased come back when their lease runs out: a short lease keeps this short.
        POSTHORN_LEASE_SECONDS: '2',
        POSTHORN_BUILD_THREADS: '1',
        POSTHORN_V1_RATE_PER_SECOND: '0',
        POSTHORN_V1_RATE_PER_MINUTE: '0',
      };
      const apiEnv = { ...env, POSTHORN_ROLE: 'api', POSTHORN_API_PROCESSES: '2' };
      const workerEnv = { ...env, POSTHORN_ROLE: 'worker' };

      // The cluster's primary migrates and makes the first key before the workers open the database.
      let cluster = await start(apiEnv);
      const key = cluster.firstKey!;
      expect(key, cluster.output()).toBeTruthy();
      const port = cluster.port;
      const apiPids = () => childrenOf(cluster.process.pid!);
      expect(apiPids()).toHaveLength(2);
      const workers = [await start(workerEnv), await start(workerEnv)];

      const api = new ApiClient(cluster.url, key);
      const accountIntId = (await api.get('/api/v1/whoami')).body.data.id as number;
      const store = await openStore(db.url);
      try {
        await seedReadySubscribers(store.db, accountIntId, RECIPIENTS);
      } finally {
        await store.close();
      }
      const mailingId = await sendMailingToAll(api, 'Across crashes');
      const sender = new TransmissionSender(cluster.url, key);
      const progress = (share: number) =>
        waitFor(async () => s.messages.length >= RECIPIENTS * share, PATIENCE_MS, `${share * 100} % of the mailing`);

      // 1. An API process dies mid-request; the primary starts another.
      await progress(0.1);
      const [victim] = apiPids();
      process.kill(victim, 'SIGKILL');
      await waitFor(
        async () => !fs.existsSync(`/proc/${victim}`) && apiPids().length === 2,
        START_MS,
        'the API process to be replaced',
      );

      // 2. The first worker dies mid-send (mid-fan-out, too, if it held the mailing's lease).
      await progress(0.25);
      await killWorkerMidSend(workers[0]);
      workers[0] = await start(workerEnv);

      // 3. The cluster's primary dies; its API processes follow it. Started again on the same port.
      await progress(0.4);
      const orphans = apiPids();
      await cluster.kill();
      await waitFor(
        async () => orphans.every((pid) => !fs.existsSync(`/proc/${pid}`)),
        15_000,
        'the API processes to exit',
      );
      cluster = await start(apiEnv, port);

      // 4. The second worker dies mid-send.
      await progress(0.55);
      await killWorkerMidSend(workers[1]);
      workers[1] = await start(workerEnv);

      const transmissions = await sender.stop();
      const expected = RECIPIENTS + transmissions * PER_TRANSMISSION;
      await s.waitForCount(expected, PATIENCE_MS).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${workers.map((w) => w.output().slice(-2000)).join('\n')}`);
      });
      await waitFor(
        async () => (await api.get(`/api/v1/mailings/${mailingId}`)).body.data.status === 'sent',
        PATIENCE_MS,
        'the mailing to be sent',
      );
      const all = await waitFor(
        async () => {
          const found = await rows();
          return found.length === expected && found.every((r) => r.status === 'delivered') ? found : null;
        },
        PATIENCE_MS,
        'every message to be recorded as delivered',
      );
      await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would arrive now

      // Every recipient got exactly one message, the one its row names.
      const byRecipient = new Map<string, string[]>();
      for (const m of s.messages)
        for (const to of m.to) byRecipient.set(to, [...(byRecipient.get(to) ?? []), m.messageId]);
      const twice = [...byRecipient].filter(([, ids]) => ids.length > 1);
      expect(twice.slice(0, 5), `${twice.length} recipients got more than one message`).toEqual([]);
      expect(s.messages.length).toBe(expected);
      const wanted = new Set([
        ...Array.from({ length: RECIPIENTS }, (_, i) => `r${i}@example.org`),
        ...Array.from({ length: transmissions }, (_, t) =>
          Array.from({ length: PER_TRANSMISSION }, (_, i) => TransmissionSender.recipient(t, i)),
        ).flat(),
      ]);
      expect(new Set(byRecipient.keys())).toEqual(wanted);
      for (const r of all) expect(byRecipient.get(r.recipient)).toEqual([`<${r.message_id_header}>`]);
      // The kills were real: requests were cut off and had to be sent again.
      expect(sender.retries).toBeGreaterThan(0);
    },
  );
});
