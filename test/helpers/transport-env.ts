// Settings that make a Posthorn under test deliver to one SMTP sink, through either transport that
// sends mail away: as its relay, or as the mail exchanger of example.org (MX published by a test
// DNS server), so a test can run once per transport.
import type { DnsTestServer } from './dns-server.ts';
import type { SmtpSink } from './smtp-sink.ts';

export const SENDING_TRANSPORTS = ['relay', 'mx'] as const;
export type SendingTransport = (typeof SENDING_TRANSPORTS)[number];

/** `connections`: how many the transport may open to the sink (the relay's pool, or example.org's limit). */
export function transportEnv(
  transport: SendingTransport,
  sink: SmtpSink,
  dns: DnsTestServer,
  connections?: number,
): Record<string, string> {
  if (transport === 'relay')
    return {
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: sink.url,
      ...(connections ? { POSTHORN_RELAY_CONNECTIONS: String(connections) } : {}),
    };
  dns.setMx('example.org', [10, 'mx.example.org']);
  dns.setA('mx.example.org', '127.0.0.1');
  return {
    POSTHORN_DELIVERY: 'mx',
    POSTHORN_DNS_SERVERS: dns.address,
    POSTHORN_MX_PORT: String(sink.port),
    POSTHORN_HOSTNAME: 'posthorn.test.example',
    ...(connections ? { POSTHORN_MX_DOMAIN_LIMITS: `example.org:connections=${connections}` } : {}),
  };
}
