// A small internet on the loopback for direct-MX tests: a DNS server (dns2) that the test fills
// with MX and address records, and real SMTP servers (smtp-server) listening on several loopback
// addresses (127.0.0.2, 127.0.0.3, … — all of 127/8 is the loopback on Linux) on one shared port,
// which Posthorn is told with POSTHORN_MX_PORT. Each server counts the connections it saw.
import type { SMTPServerOptions } from 'smtp-server';
import { startDnsServer, type DnsTestServer } from './dns-server.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import { freePort } from './child-server.ts';
import { waitFor, type TestServer } from './server.ts';

export interface MxServer extends SmtpSink {
  address: string;
  /** Connections accepted (every one, also those refused by a greeting or dropped). */
  connections: number;
  /** The most connections open at once. */
  peakConnections: number;
  /** The client address of every connection, in order. */
  remoteAddresses: string[];
  /** The names clients gave in EHLO/HELO. */
  heloNames: Set<string>;
}

export interface MxWorld {
  dns: DnsTestServer;
  /** The port every exchanger listens on. */
  port: number;
  servers: Map<string, MxServer>;
  /** Starts an SMTP server on a loopback address at the shared port. */
  addServer(address: string, opts?: Partial<SMTPServerOptions>): Promise<MxServer>;
  /** Publishes MX records for `domain`: [preference, exchanger host, its address] each. */
  route(domain: string, ...mx: Array<[number, string, string]>): void;
  /** Settings that point Posthorn's mx transport at this world. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startMxWorld(): Promise<MxWorld> {
  const dns = await startDnsServer();
  const servers = new Map<string, MxServer>();
  let port = await freePort();

  const world: MxWorld = {
    dns,
    get port() {
      return port;
    },
    servers,
    async addServer(address, opts = {}) {
      let counters = { connections: 0, open: 0, peak: 0 };
      const remoteAddresses: string[] = [];
      const heloNames = new Set<string>();
      const start = () =>
        startSmtpSink(
          {
            ...opts,
            onConnect(session, callback) {
              counters.connections++;
              remoteAddresses.push(session.remoteAddress);
              counters.peak = Math.max(counters.peak, ++counters.open);
              if (opts.onConnect) return opts.onConnect(session, callback);
              callback();
            },
            onMailFrom(address, session, callback) {
              heloNames.add(session.hostNameAppearsAs);
              if (opts.onMailFrom) return opts.onMailFrom(address, session, callback);
              callback();
            },
            onClose(session, callback) {
              counters.open--;
              opts.onClose?.(session, callback);
            },
          },
          { host: address, port },
        );
      let sink: SmtpSink;
      try {
        sink = await start();
      } catch (error) {
        // The shared port was taken on this address meanwhile: only possible before any server runs.
        if (servers.size > 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        port = await freePort();
        counters = { connections: 0, open: 0, peak: 0 };
        sink = await start();
      }
      const server = Object.assign(sink, { address, remoteAddresses, heloNames }) as MxServer;
      Object.defineProperties(server, {
        connections: { get: () => counters.connections },
        peakConnections: { get: () => counters.peak },
      });
      servers.set(address, server);
      return server;
    },
    route(domain, ...mx) {
      dns.setMx(domain, ...mx.map(([preference, host]) => [preference, host] as [number, string]));
      for (const [, host, address] of mx) {
        const v6 = address.includes(':');
        const list = (v6 ? dns.aaaa : dns.a).get(host) ?? [];
        if (!list.includes(address)) (v6 ? dns.setAaaa : dns.setA)(host, ...list, address);
      }
    },
    env: () => ({
      POSTHORN_DELIVERY: 'mx',
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_MX_PORT: String(port),
      POSTHORN_HOSTNAME: 'posthorn.test.example',
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    }),
    async close() {
      for (const s of servers.values()) {
        s.hold = null;
        await s.close();
      }
      await dns.close();
    },
  };
  return world;
}

/** Sends one plain message to `to` through the transactional API; returns the transmission id. */
export async function sendTo(server: TestServer, to: string, from = 'sender@posthorn-mx.example'): Promise<string> {
  const res = await server.api.post('/v1/layang/transmissions', {
    from: { email: from },
    to: [{ email: to }],
    subject: 'Hello',
    bodyText: 'Hello over direct MX delivery',
  });
  if (res.status !== 200) throw new Error(`the transmission was refused: ${res.status} ${res.text}`);
  return res.body.transmissionId as string;
}

/** The events of one message, oldest first, with their data parsed (what the transport recorded). */
export async function eventsOf(server: TestServer, messageId: string) {
  const rows = await server.app.ctx.db
    .selectFrom('events')
    .selectAll()
    .where('message_id', '=', messageId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ type: r.type, data: JSON.parse(r.data ?? '{}') as Record<string, any> }));
}

/** Waits until the (first) message of a transmission has `status`; returns it. */
export function waitForStatus(server: TestServer, transmissionId: string, status: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const m = (await server.api.get(`/v1/messages?transmissionId=${transmissionId}`)).body.data[0];
      return m?.status === status ? m : null;
    },
    timeoutMs,
    `the message to be ${status}`,
  );
}
