import type { SmtpReply } from '../../domain/bounce-classes.ts';

export interface Envelope {
  from: string;
  to: string[];
}

/** What a delivery event records about how the message travelled, beyond the reply. */
export interface DeliveryDetails {
  /** The TLS session the message went over (STARTTLS); absent when it went in clear. */
  tls?: { protocol: string; cipher: string; verified: boolean };
  /** The recipient domain's MTA-STS policy and how this delivery fared against it. */
  mtaSts?: { mode: 'enforce' | 'testing'; result: 'pass' | 'fail'; reason?: string };
}

export interface SendResult {
  reply: SmtpReply;
  /** Which next hop answered (relay URL, MX host and address, or `dns` for a verdict from DNS alone). */
  via: string;
  details?: DeliveryDetails;
  /**
   * For a temporary failure: the earliest time worth trying again (a destination backed off after
   * telling us to slow down). Without it the worker's retry schedule decides.
   */
  retryAt?: number;
}

/**
 * The transport did not try the message and says when it would: its limits for the destination are
 * full (politeness), so holding the worker's slot until then would only starve other domains. The
 * message goes back to the queue as it was: no attempt counted, no event.
 */
export interface NotTried {
  notTriedUntil: number;
}

/** Something that hands a signed message to the next hop. It never throws: failures are replies. */
export interface Transport {
  name: string;
  /** `priority` as on the outbox row (lower is sooner: 0 transactional, 10 bulk; default 10). */
  send(envelope: Envelope, raw: Buffer, priority?: number): Promise<SendResult | NotTried>;
  /**
   * Cuts every transaction in flight (for a stop that has waited long enough): each of their sends
   * resolves at once as a temporary failure (code 0, `reason` in its text), so it is retried later.
   */
  abort(reason: string): void;
  close(): Promise<void>;
}
