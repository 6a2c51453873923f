// Mail Posthorn sends on its own behalf (double opt-in, sandbox consent): one transactional
// transmission with one outbox row at priority 0 (somebody is waiting for it) and its injection
// event, written in the caller's transaction.
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import { newId } from '../domain/ids.ts';
import { insertTransmission } from '../store/transmissions.ts';
import { insertMessages, newOutboxRow } from '../store/messages.ts';
import { recordEvents } from '../events/record-events.ts';

export interface SystemMail {
  accountId: string;
  content: TransmissionContent;
  /** The subject as stored on the transmission (rendered, where the caller rendered it). */
  subject: string;
  recipient: string;
  recipientName?: string | null;
  now: number;
}

export async function queueSystemMail(trx: Transaction<Database>, mail: SystemMail): Promise<void> {
  const { accountId, content, recipient, now } = mail;
  const transmissionId = newId();
  const messageId = newId();
  await insertTransmission(trx, {
    id: transmissionId,
    account_id: accountId,
    api_key_id: null,
    from_email: content.from.email,
    from_name: content.from.name ?? null,
    subject: mail.subject,
    content: JSON.stringify(content),
    recipient_count: 1,
    sandbox: 0,
    transactional: 1,
    campaign_id: null,
    send_at: null,
    created_at: now,
  });
  await insertMessages(trx, [
    newOutboxRow({
      id: messageId,
      account_id: accountId,
      transmission_id: transmissionId,
      recipient,
      recipient_name: mail.recipientName ?? null,
      priority: 0,
      now,
    }),
  ]);
  await recordEvents(trx, [
    {
      account_id: accountId,
      type: 'injection',
      message_id: messageId,
      transmission_id: transmissionId,
      mailing_id: null,
      recipient,
      data: JSON.stringify({ metadata: content.metadata }),
      created_at: now,
    },
  ]);
}
