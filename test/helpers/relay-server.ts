// A Posthorn under test that relays all mail to one SMTP sink and sends from any address (no
// verified domain needed): the set-up of the tests that read the mail that arrived.
import { startTestServer, type TestServer } from './server.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

/** The settings that relay to `sink`, with `extra` on top. */
export function relayTo(sink: SmtpSink, extra: Record<string, string> = {}): Record<string, string> {
  return {
    POSTHORN_DELIVERY: 'relay',
    POSTHORN_RELAYS: sink.url,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    ...extra,
  };
}

/** A new sink and a server relaying to it; the sink is closed again when the server cannot start. */
export async function startRelayedServer(
  extra: Record<string, string> = {},
): Promise<{ server: TestServer; sink: SmtpSink }> {
  const sink = await startSmtpSink();
  try {
    return { server: await startTestServer(relayTo(sink, extra)), sink };
  } catch (error) {
    await sink.close();
    throw error;
  }
}
