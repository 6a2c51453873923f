// Step 5, record: what a delivery attempt (or a refusal) comes to — the message's new state and
// the event that reports it — handed to the outcome recorder, which commits it with the next group
// commit (outcome-recorder.ts). The decisions are plain functions of the message, the reply and
// the time, so each can be checked on its own.
import type { Config } from '../../config.ts';
import type { MessagesTable } from '../../store/schema.ts';
import type { MessageOutcome } from '../../store/messages.ts';
import { classifyReply } from '../../domain/bounce-classes.ts';
import { nextAttemptDelayMs } from '../../domain/backoff.ts';
import type { BuiltMessage } from '../build-message.ts';
import type { OutcomeRecorder } from '../outcome-recorder.ts';
import type { SendResult } from '../transports/transport.ts';

/** A message's new state, and the event that reports it (none for a message handed back untried). */
export interface Decision {
  outcome: MessageOutcome;
  event?: { type: string; data: Record<string, unknown> };
  /** The captured MIME (sandbox, capture mode), as built. */
  raw?: Buffer;
}

export type RetryPolicy = Pick<Config['worker'], 'retryMaxAgeSeconds' | 'retrySchedule'>;

/** Hands the decision to the recorder; resolves once it is committed. */
export function recordDecision(recorder: OutcomeRecorder, m: MessagesTable, d: Decision): Promise<void> {
  if (!d.event) return recorder.record({ outcome: d.outcome, accountId: m.account_id });
  return recorder.record({
    outcome: d.outcome,
    accountId: m.account_id,
    acceptedAt: Number(m.created_at),
    event: {
      type: d.event.type,
      message_id: m.id,
      transmission_id: m.transmission_id,
      mailing_id: m.mailing_id,
      recipient: m.recipient,
      data: JSON.stringify(d.event.data),
    },
    ...(d.raw !== undefined ? { raw: d.raw } : {}),
  });
}

function builtBase(m: MessagesTable, built: BuiltMessage) {
  return { id: m.id, messageIdHeader: built.messageIdHeader, size: built.raw.length };
}

/** Sandbox mail, or any mail in capture mode: kept, not sent. */
export function captured(m: MessagesTable, built: BuiltMessage, at: number): Decision {
  return {
    outcome: { ...builtBase(m, built), status: 'captured', lastResponse: '250 captured', bounceClass: null, at },
    event: { type: 'delivery', data: { captured: true } },
    raw: built.raw,
  };
}

/** Not tried (the transport's limits for the destination are full): back to the queue as it was, no event. */
export function handedBack(m: MessagesTable, until: number, at: number): Decision {
  return {
    outcome: {
      id: m.id,
      status: m.attempts > 1 ? 'deferred' : 'queued',
      notTried: true,
      lastResponse: m.last_response,
      bounceClass: m.bounce_class,
      nextAttemptAt: until,
      messageIdHeader: m.message_id_header,
      size: m.size,
      at,
    },
  };
}

/** The next hop's reply: delivered, deferred (retry on schedule, until too old) or bounced. */
export function answered(
  retry: RetryPolicy,
  m: MessagesTable,
  built: BuiltMessage,
  { reply, via, details, retryAt }: SendResult,
  now: number,
): Decision {
  const base = builtBase(m, built);
  const disposition = classifyReply(reply);
  const text = reply.text || `${reply.code}`;
  if (disposition.kind === 'delivered') {
    return {
      outcome: { ...base, status: 'delivered', lastResponse: text, bounceClass: null, at: now },
      event: { type: 'delivery', data: { response: text, via, ...details } },
    };
  }
  const expired = now - built.firstDueAt >= retry.retryMaxAgeSeconds * 1000;
  if (disposition.kind === 'retry' && !expired) {
    // A destination that asked us to back off says when to come back; otherwise the schedule does.
    const next = retryAt ?? now + nextAttemptDelayMs(m.attempts, retry.retrySchedule);
    const bounceClass = disposition.bounceClass;
    return {
      outcome: { ...base, status: 'deferred', lastResponse: text, bounceClass, nextAttemptAt: next, at: now },
      event: {
        type: 'delay',
        data: { reason: text, bounceClass, nextAttemptAt: new Date(next).toISOString(), via, ...details },
      },
    };
  }
  const cls = disposition.kind === 'retry' && reply.code === 0 ? 24 : disposition.bounceClass;
  // What the bounce does to the address (suppression, soft-bounce streak) follows from the event.
  return {
    outcome: { ...base, status: 'bounced', lastResponse: text, bounceClass: cls, at: now },
    event: { type: 'bounce', data: { reason: text, bounceClass: cls, via, ...details } },
  };
}
