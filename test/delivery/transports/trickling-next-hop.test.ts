// A next hop that answers the end of the data one byte at a time, forever, never trips a socket
// timeout (each byte resets it). Two bounds hold anyway, through either transport that sends mail
// away (relay, and mx with the exchanger found through a DNS server in this test):
//   - POSTHORN_SMTP_TRANSACTION_TIMEOUT_MS: the transaction is cut, the message deferred (retried
//     later), with the reason in its last response;
//   - POSTHORN_SHUTDOWN_GRACE_MS: a stop waits that long for the message, then cuts it, records it as
//     deferred (no lease left on it) and closes, instead of waiting for the trickle to end.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../../helpers/server.ts';
import { bareKysely } from '../../helpers/database.ts';
import { startDnsServer, type DnsTestServer } from '../../helpers/dns-server.ts';
import { SENDING_TRANSPORTS, transportEnv } from '../../helpers/transport-env.ts';
import type { SmtpSink } from '../../helpers/smtp-sink.ts';

interface TricklingServer {
  url: string;
  port: number;
  /** Messages whose data arrived in full (and whose final reply is now trickling). */
  dataReceived: number;
  /** Bytes of final replies trickled so far. */
  trickled: number;
  close(): Promise<void>;
}

/** An SMTP server that takes the envelope and the data, then answers `250 ` and one byte per 50 ms, never a CRLF. */
async function startTricklingServer(): Promise<TricklingServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { dataReceived: 0, trickled: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let inData = false;
    let buffered = '';
    socket.write('220 trickle.test ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      if (inData) {
        if (!buffered.includes('\r\n.\r\n')) return;
        inData = false;
        buffered = '';
        state.dataReceived++;
        socket.write('250 ');
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write('x');
          state.trickled++;
        }, 50);
        timers.add(timer);
        return;
      }
      let end;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (line.startsWith('EHLO')) socket.write('250-trickle.test\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
          return;
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    get dataReceived() {
      return state.dataReceived;
    },
    get trickled() {
      return state.trickled;
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function sendOne(server: TestServer): Promise<string> {
  const res = await server.api.post('/v1/layang/transmissions', {
    from: { email: 'sender@example.com' },
    to: [{ email: 'someone@example.org' }],
    subject: 'Trickled',
    bodyText: 'The next hop answers this one very slowly.',
  });
  expect(res.status, res.text).toBe(200);
  return res.body.transmissionId;
}

describe.each(SENDING_TRANSPORTS)('a next hop that trickles its final reply (%s)', (transport) => {
  let trickler: TricklingServer | undefined;
  let dns: DnsTestServer | undefined;
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    await trickler?.close();
    await dns?.close();
    server = trickler = dns = undefined;
  });

  async function start(env: Record<string, string>): Promise<TestServer> {
    trickler = await startTricklingServer();
    dns = await startDnsServer();
    // transportEnv needs only the sink's address.
    const target = { url: trickler.url, port: trickler.port } as unknown as SmtpSink;
    server = await startTestServer({
      ...transportEnv(transport, target, dns),
      // The sender's domain is not what this is about.
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
      ...env,
    });
    return server;
  }

  it(
    'is cut off after the transaction timeout: the message is deferred with the reason',
    { timeout: 30_000 },
    async () => {
      const s = await start({ POSTHORN_SMTP_TRANSACTION_TIMEOUT_MS: '1500' });
      const started = Date.now();
      await sendOne(s);
      const message = await waitFor(
        async () => {
          const res = await s.api.get('/v1/messages?status=deferred');
          return res.body.count > 0 ? res.body.data[0] : null;
        },
        20_000,
        'the message deferred',
      );
      const elapsed = Date.now() - started;
      expect(trickler!.dataReceived).toBeGreaterThanOrEqual(1);
      // The trickle went on past the socket timeout's reach (bytes kept coming) until the deadline.
      expect(trickler!.trickled).toBeGreaterThan(10);
      expect(elapsed).toBeGreaterThanOrEqual(1500);
      expect(elapsed).toBeLessThan(15_000);
      const row = await s.app.ctx.db
        .selectFrom('messages')
        .select(['status', 'last_response', 'lease_owner', 'attempts'])
        .where('id', '=', message.id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'deferred', lease_owner: null, attempts: 1 });
      expect(row.last_response).toContain('no final reply within 1500 ms');
    },
  );

  it(
    'does not hold a stop past the shutdown grace: the message is cut, deferred, and the store closed',
    { timeout: 30_000 },
    async () => {
      const s = await start({ POSTHORN_SHUTDOWN_GRACE_MS: '500' });
      await sendOne(s);
      await waitFor(async () => trickler!.dataReceived >= 1, 15_000, 'the data at the next hop');
      const stopping = Date.now();
      await s.app.close();
      const stopMs = Date.now() - stopping;
      expect(stopMs).toBeGreaterThanOrEqual(450);
      expect(stopMs).toBeLessThan(10_000);
      // The transaction timeout (600 s by default) was never reached: the grace cut it.
      const db = bareKysely(s.db);
      try {
        const rows = await db.selectFrom('messages').select(['status', 'last_response', 'lease_owner']).execute();
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ status: 'deferred', lease_owner: null });
        expect(rows[0].last_response).toContain('the worker stopped (grace of 500 ms over)');
      } finally {
        await db.destroy();
        // Closed here already: the teardown only drops the database.
        server = undefined;
        await s.db.drop();
      }
    },
  );
});
