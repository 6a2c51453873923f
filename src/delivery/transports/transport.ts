import type { SmtpReply } from '../../domain/bounce-classes.ts';

export interface Envelope {
  from: string;
  to: string[];
}

export interface SendResult {
  reply: SmtpReply;
  /** Which next hop answered (relay URL), for the log and the message's last response. */
  via: string;
}

/** Something that hands a signed message to the next hop. It never throws: failures are replies. */
export interface Transport {
  name: string;
  /** `priority` as on the outbox row (lower is sooner: 0 transactional, 10 bulk; default 10). */
  send(envelope: Envelope, raw: Buffer, priority?: number): Promise<SendResult>;
  close(): Promise<void>;
}
