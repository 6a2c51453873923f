// Step 4, transport: hand the built message to the next hop (relay or MX). Sandbox mail, and all
// mail in capture mode (no transport), is kept instead of sent.
import type { MessagesTable } from '../../store/schema.ts';
import type { BuiltMessage } from '../build-message.ts';
import type { NotTried, SendResult, Transport } from '../transports/transport.ts';

/** The next hop's reply, `captured`, or the transport's word that it did not try (limits full). */
export function transportStep(
  transport: Transport | null,
  m: MessagesTable,
  built: BuiltMessage,
): Promise<SendResult | NotTried> | 'captured' {
  if (m.sandbox === 1 || transport === null) return 'captured';
  return transport.send({ from: built.envelopeFrom, to: [m.recipient] }, built.raw, m.priority);
}
