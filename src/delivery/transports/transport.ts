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
  send(envelope: Envelope, raw: Buffer): Promise<SendResult>;
  close(): Promise<void>;
}
