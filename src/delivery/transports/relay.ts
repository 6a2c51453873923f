// Delivery through one or more SMTP relays: pooled connections per relay, STARTTLS as configured,
// and failover: a relay that cannot be reached or will not take mail at all (no connection, a
// refused greeting or EHLO, failed STARTTLS or AUTH) is skipped for a while and the next one is
// tried. A reply within the message's own transaction (MAIL FROM, RCPT TO, DATA), even a 4xx or
// 5xx, is the answer for this message and is not failed over.
// Sends are admitted by priority (PriorityGate): no more are handed to the pools than there are
// connections, so transactional mail overtakes bulk mail waiting here instead of queueing behind
// it inside nodemailer's first-come pool.
// nodemailer (10.6) opens its sockets with TCP_NODELAY (with Nagle's algorithm each message waited
// ~40 ms for the relay's delayed ACK) and pipelines MAIL FROM, RCPT TO and DATA when the relay
// offers PIPELINING (test/delivery/transports/pipelining.test.ts); it needs no socket of ours.
import nodemailer, { type Mail, type SMTPPoolSentMessageInfo } from 'nodemailer';

import type { Logger } from 'pino';
import type { RelayConfig } from '../../config.ts';
import { parseSmtpReply, type SmtpReply } from '../../domain/bounce-classes.ts';
import type { Envelope, SendResult, Transport } from './transport.ts';
import { PriorityGate } from '../priority-gate.ts';

const DOWN_FOR_MS = 30_000;

const BULK_PRIORITY = 10;

/** A send cut by abort(): a temporary failure (code 0), retried later. */
function notSent(reason: string, via: string): SendResult {
  return { reply: { code: 0, text: `not sent: ${reason}` }, via };
}

/**
 * A raw message is sent as it is; a boundary and Message-ID given with it only spare nodemailer the
 * six randomBytes calls it makes per message to invent ones it would not use. (`baseBoundary` is
 * a MailComposer option its type declarations leave out.)
 */
const RAW_SEND = { messageId: '<raw@posthorn.invalid>', baseBoundary: 'raw' };

interface RelaySlot {
  config: RelayConfig;
  transporter: Mail<SMTPPoolSentMessageInfo>;
  downUntil: number;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

// The commands of one message's transaction; a reply to anything else (the greeting, EHLO,
// STARTTLS, AUTH) concerns the relay or our settings for it, not the recipient.
const TRANSACTION_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

/** The message's answer, if this error is one; null when the relay itself failed. */
function answerOf(e: SmtpError): SmtpReply | null {
  if (e.code === 'ETLS' || e.code === 'EAUTH') return null;
  if (e.responseCode && TRANSACTION_COMMANDS.has(e.command ?? '')) {
    return { ...parseSmtpReply(e.response ?? `${e.responseCode}`, e.responseCode), code: e.responseCode };
  }
  // Refused by the client library before sending (too large, unusable address): no relay takes it.
  if (e.code === 'EMESSAGE') return parseSmtpReply(`552 5.3.4 ${e.message}`);
  if (e.code === 'EENVELOPE' && !e.responseCode) return parseSmtpReply(`550 5.5.0 ${e.message}`);
  return null;
}

export function createRelayTransport(
  relays: RelayConfig[],
  opts: {
    log: Logger;
    timeoutMs: number;
    /** The longest one message's transaction may take (socket timeouts miss a relay that trickles). */
    transactionTimeoutMs: number;
    maxConnections?: number;
  },
): Transport {
  const { transactionTimeoutMs } = opts;
  /** The transactions in flight, each cut by aborting its controller (nodemailer closes its connection). */
  const inFlight = new Set<AbortController>();
  /** Set by abort(): what every send in flight, and every later one, is answered with. */
  let abortedWith: string | null = null;
  const maxConnections = opts.maxConnections ?? 8;
  // One send holds one connection (of the first healthy relay, or of each relay it fails over to),
  // so as many sends as one pool has connections keep it busy and leave nothing queued inside it.
  const gate = new PriorityGate(maxConnections);
  const slots: RelaySlot[] = relays.map((config) => ({
    config,
    downUntil: 0,
    transporter: nodemailer.createTransport({
      pool: true,
      host: config.host,
      port: config.port,
      secure: config.secure,
      ignoreTLS: config.starttls === 'off',
      requireTLS: config.starttls === 'require',
      auth: config.user ? { user: config.user, pass: config.pass ?? '' } : undefined,
      tls: { rejectUnauthorized: config.rejectUnauthorized },
      maxConnections,
      maxMessages: Infinity,
      connectionTimeout: Math.min(opts.timeoutMs, 30_000),
      greetingTimeout: Math.min(opts.timeoutMs, 30_000),
      socketTimeout: opts.timeoutMs,
    }),
  }));

  async function attempt(slot: RelaySlot, envelope: Envelope, raw: Buffer): Promise<SendResult | SmtpError> {
    const transaction = new AbortController();
    // A relay that answers a byte at a time never trips the socket timeout; this cuts it off.
    const deadline = setTimeout(() => transaction.abort(), transactionTimeoutMs);
    inFlight.add(transaction);
    try {
      const info = await slot.transporter.sendMail({
        envelope: { from: envelope.from, to: envelope.to },
        raw,
        signal: transaction.signal,
        ...RAW_SEND,
      });
      return { reply: parseSmtpReply(info.response || '250 OK', 250), via: slot.config.url };
    } catch (error) {
      const e = error as SmtpError;
      if (abortedWith !== null) return notSent(abortedWith, slot.config.url);
      if (e.code === 'EABORT')
        // Like a lost connection: the relay, not the message, failed (it fails over).
        return Object.assign(new Error(`no final reply within ${transactionTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      // A TLS or login failure, like a refused greeting, is the relay's problem (or our settings'):
      // it fails over and defers like an unreachable relay, even when it came with a 5xx reply.
      const reply = answerOf(e);
      return reply ? { reply, via: slot.config.url } : e;
    } finally {
      clearTimeout(deadline);
      inFlight.delete(transaction);
    }
  }

  async function sendNow(envelope: Envelope, raw: Buffer): Promise<SendResult> {
    if (abortedWith !== null) return notSent(abortedWith, 'none');
    const now = Date.now();
    // Healthy relays first, in configured order; relays marked down are still tried last.
    const ordered = [...slots.filter((s) => s.downUntil <= now), ...slots.filter((s) => s.downUntil > now)];
    const failures: string[] = [];
    for (const slot of ordered) {
      const result = await attempt(slot, envelope, raw);
      if (!(result instanceof Error)) {
        slot.downUntil = 0;
        return result;
      }
      slot.downUntil = Date.now() + DOWN_FOR_MS;
      failures.push(`${slot.config.url}: ${result.code ?? ''} ${result.message}`.trim());
      opts.log.warn({ relay: slot.config.url, err: result.message }, 'relay unreachable, failing over');
    }
    return { reply: { code: 0, text: `no relay could be reached (${failures.join('; ')})` }, via: 'none' };
  }

  return {
    name: 'relay',
    send(envelope, raw, priority = BULK_PRIORITY) {
      return gate.run(priority, () => sendNow(envelope, raw));
    },
    abort(reason) {
      abortedWith = reason;
      for (const transaction of inFlight) transaction.abort();
    },
    async close() {
      for (const s of slots) s.transporter.close();
    },
  };
}
