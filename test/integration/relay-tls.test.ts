// STARTTLS options of the relay transport, against a real SMTP server that offers STARTTLS
// (smtp-server's built-in self-signed certificate).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';

interface TlsSink {
  port: number;
  received: Array<{ secure: boolean; to: string[] }>;
  close(): Promise<void>;
}

async function startTlsSink(offerStartTls: boolean): Promise<TlsSink> {
  const received: TlsSink['received'] = [];
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    disabledCommands: offerStartTls ? [] : ['STARTTLS'],
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        received.push({ secure: session.secure, to: session.envelope.rcptTo.map((r) => r.address) });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const message = { from: { email: 'a@example.com' }, to: [{ email: 'b@example.org' }], subject: 'tls', bodyText: 'x' };

describe('relay STARTTLS options', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });
  afterAll(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });

  async function serverFor(relay: string): Promise<TestServer> {
    const s = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: relay,
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
      POSTHORN_RETRY_SCHEDULE: '1h',
      POSTHORN_SMTP_TIMEOUT_MS: '5000',
    });
    cleanup.push(() => s.close());
    return s;
  }

  it('upgrades to TLS when the relay offers STARTTLS and starttls=require', async () => {
    const sink = await startTlsSink(true);
    cleanup.push(sink.close);
    const server = await serverFor(`smtp://127.0.0.1:${sink.port}?starttls=require&rejectUnauthorized=false`);
    const res = await server.api.post('/v1/layang/transmissions', message);
    const [m] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(m.status).toBe('delivered');
    expect(sink.received).toEqual([{ secure: true, to: ['b@example.org'] }]);
  });

  it('refuses to send in clear text when starttls=require and the relay does not offer it', async () => {
    const sink = await startTlsSink(false);
    cleanup.push(sink.close);
    const server = await serverFor(`smtp://127.0.0.1:${sink.port}?starttls=require`);
    const res = await server.api.post('/v1/layang/transmissions', message);
    const [m] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(m.status).toBe('deferred');
    expect(m.lastResponse).toMatch(/STARTTLS/);
    expect(sink.received).toEqual([]);
  });

  it('rejects a self-signed relay certificate unless rejectUnauthorized=false', async () => {
    const sink = await startTlsSink(true);
    cleanup.push(sink.close);
    const server = await serverFor(`smtp://127.0.0.1:${sink.port}?starttls=require`);
    const res = await server.api.post('/v1/layang/transmissions', message);
    const [m] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(m.status).toBe('deferred');
    expect(m.lastResponse).toMatch(/certificate|self.signed/i);
    expect(sink.received).toEqual([]);
  });

  it('sends in clear text with starttls=off even when TLS is offered', async () => {
    const sink = await startTlsSink(true);
    cleanup.push(sink.close);
    const server = await serverFor(`smtp://127.0.0.1:${sink.port}?starttls=off`);
    const res = await server.api.post('/v1/layang/transmissions', message);
    const [m] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(m.status).toBe('delivered');
    expect(sink.received).toEqual([{ secure: false, to: ['b@example.org'] }]);
  });
});
