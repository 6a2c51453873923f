// Both transports that send mail away pipeline (RFC 2920) when the server advertises PIPELINING:
// MAIL FROM, RCPT TO and DATA leave in one write and arrive in one read, not one round trip each.
// (nodemailer does this itself and opens its sockets with TCP_NODELAY.) The server here is a raw
// `net` server speaking just enough SMTP, so the test sees the bytes as they arrive on the socket.
import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createRelayTransport } from '../../../src/delivery/transports/relay.ts';
import { createMxTransport } from '../../../src/delivery/transports/mx.ts';
import type { Transport } from '../../../src/delivery/transports/transport.ts';
import { startDnsServer, type DnsTestServer } from '../../helpers/dns-server.ts';
import { transportEnv, SENDING_TRANSPORTS } from '../../helpers/transport-env.ts';
import type { SmtpSink } from '../../helpers/smtp-sink.ts';

interface RawSmtpServer {
  port: number;
  /** Every chunk a 'data' event delivered, per connection, as text (the message body left out). */
  reads: string[][];
  close(): Promise<void>;
}

/** A minimal SMTP server: greets, answers EHLO with PIPELINING, takes any envelope and message. */
async function startRawSmtpServer(advertisePipelining: boolean): Promise<RawSmtpServer> {
  const reads: string[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const mine: string[] = [];
    reads.push(mine);
    let inData = false;
    let buffered = '';
    socket.write('220 raw.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (!inData) mine.push(text);
      buffered += text;
      // Answer every complete command line, in order, as a pipelining server must.
      for (;;) {
        if (inData) {
          const end = buffered.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffered = buffered.slice(end + 5);
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffered.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          socket.write(`250-raw.test\r\n${advertisePipelining ? '250-PIPELINING\r\n' : ''}250 8BITMIME\r\n`);
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    reads,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function transportFor(kind: (typeof SENDING_TRANSPORTS)[number], port: number, dns: DnsTestServer): Transport {
  // transportEnv reads only the sink's address; the raw server stands in for it.
  const sinkLike = { url: `smtp://127.0.0.1:${port}`, port } as SmtpSink;
  const config = loadConfig({ ...transportEnv(kind, sinkLike, dns), POSTHORN_MTA_STS: 'off' });
  const log = pino({ level: 'silent' });
  if (kind === 'relay')
    return createRelayTransport(config.relays, {
      log,
      timeoutMs: 5000,
      transactionTimeoutMs: config.worker.smtpTransactionTimeoutMs,
      maxConnections: 1,
    });
  return createMxTransport({
    mx: config.mx,
    hostname: config.hostname,
    dnsServers: config.dnsServers,
    timeoutMs: 5000,
    transactionTimeoutMs: config.worker.smtpTransactionTimeoutMs,
    log,
  });
}

const MESSAGE = Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n');

describe('SMTP pipelining of the sending transports', () => {
  let dns: DnsTestServer;
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => dns?.close());

  for (const kind of SENDING_TRANSPORTS) {
    it(`${kind}: MAIL FROM, RCPT TO and DATA arrive in one read when the server offers PIPELINING`, async () => {
      const server = await startRawSmtpServer(true);
      const transport = transportFor(kind, server.port, dns);
      try {
        for (let i = 0; i < 3; i++) {
          const sent = await transport.send({ from: 'a@example.com', to: [`b${i}@example.org`] }, MESSAGE, 0);
          expect(sent).toMatchObject({ reply: { code: 250 } });
        }
        const envelopes = server.reads.flat().filter((read) => /MAIL FROM:/i.test(read));
        expect(envelopes).toHaveLength(3);
        for (const read of envelopes) expect(read).toMatch(/^MAIL FROM:<[^>]+>.*\r\nRCPT TO:<[^>]+>.*\r\nDATA\r\n$/is);
      } finally {
        await transport.close();
        await server.close();
      }
    });

    it(`${kind}: without PIPELINING each command waits for its reply (the check above can fail)`, async () => {
      const server = await startRawSmtpServer(false);
      const transport = transportFor(kind, server.port, dns);
      try {
        const sent = await transport.send({ from: 'a@example.com', to: ['b@example.org'] }, MESSAGE, 0);
        expect(sent).toMatchObject({ reply: { code: 250 } });
        const reads = server.reads.flat();
        expect(reads.some((read) => /^MAIL FROM:[^\n]*\r\n$/i.test(read))).toBe(true);
        expect(reads.some((read) => /^RCPT TO:[^\n]*\r\n$/i.test(read))).toBe(true);
        expect(reads).toContain('DATA\r\n');
      } finally {
        await transport.close();
        await server.close();
      }
    });
  }
});
