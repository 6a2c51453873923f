// What happens to a message the inbound receiver accepted. It is read (domain/inbound-report.ts),
// matched to the outbox message it is about (inbound-matching.ts), and turned into the events an
// SMTP reply during delivery would have caused: `bounce` (out of band) or `delay` per recipient, a
// `spam_complaint`, an auto-reply's class-60 bounce. The event writer carries out the rest in the
// same transaction (webhooks, counters, the suppression policy and the subscriber's status). A
// permanent failure also makes the outbox row `bounced`. Every report is kept, matched or not, for
// inspection (GET /v1/inbound). Nothing in a report can make this throw except the store being
// unavailable, which the receiver answers with a 4xx so the sender tries again.
import type { Context } from '../context.ts';
import { storeUnavailable } from './errors.ts';
import { newId } from '../domain/ids.ts';
import { parseInboundReport, type InboundReport, type RecipientOutcome } from '../domain/inbound-report.ts';
import { parseReturnPathAddress } from '../domain/return-path-address.ts';
import type { NewEvent } from '../store/events.ts';
import { recordEvents } from '../events/record-events.ts';
import {
  findOutboxMessage,
  hasMessageEvent,
  insertInboundReport,
  markBouncedOutOfBand,
  type OutboxRef,
} from '../store/inbound.ts';
import { findAnchor, rowForRecipient } from './inbound-matching.ts';
import { unsubscribeByMailto } from './inbound-unsubscribe.ts';

export interface InboundEnvelope {
  mailFrom: string;
  rcptTo: string[];
}

export interface InboundResult {
  reportId: string;
  kind: string;
  outcome: 'matched' | 'unmatched' | 'ignored';
}

/** The raw message is kept up to this size; the rest of a report is rarely worth keeping. */
const RAW_KEPT_BYTES = 256 * 1024;

interface Handled {
  accountId: string | null;
  messageId: string | null;
  outcome: InboundResult['outcome'];
  /** Per recipient: which message it matched and what was recorded. */
  results: Array<Record<string, unknown>>;
}

export async function receiveInbound(ctx: Context, envelope: InboundEnvelope, raw: Buffer): Promise<InboundResult> {
  const reportId = newId();
  try {
    return await processReport(ctx, reportId, envelope, raw);
  } catch (error) {
    // The store being unavailable is worth a retry by the sender (451); anything else would fail
    // again the same way: the report is kept, unprocessed, for someone to look at.
    if (storeUnavailable(error)) throw error;
    ctx.log.error({ err: error, reportId }, 'inbound report could not be processed; kept unprocessed');
    const handled: Handled = { accountId: null, messageId: null, outcome: 'unmatched', results: [] };
    await insertInboundReport(
      ctx.db,
      reportRow(ctx, reportId, envelope, raw, 'unknown', 'unknown', emptyReport(), handled),
    );
    return { reportId, kind: 'unknown', outcome: 'unmatched' };
  }
}

async function processReport(
  ctx: Context,
  reportId: string,
  envelope: InboundEnvelope,
  raw: Buffer,
): Promise<InboundResult> {
  const addresses = envelope.rcptTo.map(parseReturnPathAddress);
  const unsubscribe = addresses.find((a) => a?.kind === 'unsubscribe');
  const verp = addresses.find((a) => a?.kind === 'bounce');
  const verpId = verp?.kind === 'bounce' ? verp.messageId : null;

  let report: InboundReport;
  try {
    report = parseInboundReport(raw);
  } catch (error) {
    // The parser reads anything; should it ever fail, the report is still kept.
    ctx.log.warn({ err: error, reportId }, 'inbound report could not be parsed');
    report = emptyReport();
  }

  if (unsubscribe?.kind === 'unsubscribe') {
    const message = await findOutboxMessage(ctx.db, unsubscribe.messageId);
    const result = message ? await unsubscribeByMailto(ctx, message) : 'not_found';
    const handled: Handled = {
      accountId: message?.account_id ?? null,
      messageId: message?.id ?? null,
      outcome: !message ? 'unmatched' : result === 'unsubscribed' ? 'matched' : 'ignored',
      results: message ? [{ recipient: message.recipient, messageId: message.id, recorded: result }] : [],
    };
    await ctx.db
      .transaction()
      .execute((trx) =>
        insertInboundReport(trx, reportRow(ctx, reportId, envelope, raw, 'unsubscribe', 'mailto', report, handled)),
      );
    return { reportId, kind: 'unsubscribe', outcome: handled.outcome };
  }

  const anchor = await findAnchor(ctx, verpId, report);
  const now = ctx.clock();
  const events: NewEvent[] = [];
  const bounced: Array<{ row: OutboxRef; outcome: RecipientOutcome }> = [];
  const handled: Handled = {
    accountId: anchor.message?.account_id ?? null,
    messageId: anchor.message?.id ?? null,
    outcome: 'unmatched',
    results: [],
  };

  if (report.kind === 'bounce' || report.kind === 'auto_reply') {
    const relevant = report.outcomes.filter(
      (o) => o.action === 'failed' || o.action === 'delayed' || o.bounceClass === 60,
    );
    for (const o of relevant) {
      const row = await rowForRecipient(
        ctx,
        anchor,
        report.kind === 'auto_reply' ? null : o.recipient,
        relevant.length === 1,
      );
      if (!row) {
        handled.results.push({ recipient: o.recipient, messageId: null, bounceClass: o.bounceClass, recorded: null });
        continue;
      }
      const type = o.action === 'delayed' ? 'delay' : 'bounce';
      // The same DSN twice (the reporting MTA retried after a lost 250) is one bounce, not two.
      if (type === 'bounce' && o.bounceClass !== 60 && row.status === 'bounced') {
        handled.results.push({
          recipient: row.recipient,
          messageId: row.id,
          bounceClass: o.bounceClass,
          recorded: 'duplicate',
        });
        continue;
      }
      events.push(
        eventFor(row, type, now, { reason: o.reason, bounceClass: o.bounceClass, status: o.status, reportId }),
      );
      if (type === 'bounce' && o.bounceClass !== 60) bounced.push({ row, outcome: o });
      handled.results.push({ recipient: row.recipient, messageId: row.id, bounceClass: o.bounceClass, recorded: type });
    }
  } else if (report.kind === 'complaint' && anchor.message) {
    const complaint = report.complaint!;
    const named = complaint.originalRcptTo ?? report.original.recipient;
    const row = (await rowForRecipient(ctx, anchor, named, true)) ?? anchor.message;
    // One complaint per message: providers send a report per click of "spam", and may repeat it.
    const repeated = await hasMessageEvent(ctx.db, row.account_id, row.id, 'spam_complaint');
    const agent = complaint.userAgent ? ` (${complaint.userAgent})` : '';
    if (!repeated)
      events.push(
        eventFor(row, 'spam_complaint', now, {
          reason: `The recipient reported the message as ${complaintName(complaint.feedbackType)}${agent}`,
          feedbackType: complaint.feedbackType,
          userAgent: complaint.userAgent,
          reportId,
        }),
      );
    handled.results.push({
      recipient: row.recipient,
      messageId: row.id,
      recorded: repeated ? 'duplicate' : 'spam_complaint',
    });
  }
  // Matched: events recorded. Ignored: the message is known but the report changes nothing (a
  // DSN of successful delivery, a human reply). Unmatched: no message found.
  if (anchor.message) handled.outcome = 'ignored';
  if (events.length > 0) {
    handled.outcome = 'matched';
    handled.accountId = events[0].account_id;
    handled.messageId = events[0].message_id ?? null;
  }

  await ctx.db.transaction().execute(async (trx) => {
    for (const { row, outcome } of bounced)
      await markBouncedOutOfBand(trx, row.account_id, row.id, outcome.bounceClass, outcome.reason, now);
    await recordEvents(trx, events, { policy: ctx.config.suppression });
    await insertInboundReport(
      trx,
      reportRow(ctx, reportId, envelope, raw, report.kind, report.format, report, handled),
    );
  });
  if (handled.outcome !== 'matched')
    ctx.log.info(
      { reportId, kind: report.kind, format: report.format },
      'inbound report stored without a matching message',
    );
  return { reportId, kind: report.kind, outcome: handled.outcome };
}

const complaintName = (feedbackType: string) => (feedbackType === 'abuse' ? 'spam' : feedbackType);

function eventFor(row: OutboxRef, type: string, at: number, data: Record<string, unknown>): NewEvent {
  return {
    account_id: row.account_id,
    type,
    message_id: row.id,
    transmission_id: row.transmission_id,
    mailing_id: row.mailing_id,
    recipient: row.recipient,
    // Out of band: the message was counted as sent when it left; counters must not count it again.
    data: JSON.stringify({ ...data, outOfBand: true }),
    created_at: at,
  };
}

function reportRow(
  ctx: Context,
  id: string,
  envelope: InboundEnvelope,
  raw: Buffer,
  kind: string,
  format: string,
  report: InboundReport,
  handled: Handled,
) {
  return {
    id,
    account_id: handled.accountId,
    kind,
    format,
    outcome: handled.outcome,
    message_id: handled.messageId,
    mail_from: envelope.mailFrom.slice(0, 320),
    rcpt_to: envelope.rcptTo.join(', ').slice(0, 4000),
    subject: report.subject === null ? null : withoutNul(report.subject),
    details: withoutNul(
      JSON.stringify({
        from: report.from,
        original: report.original,
        outcomes: report.outcomes,
        complaint: report.complaint,
        results: handled.results,
      }),
    ),
    // Kept as text for reading: reports are mail, mostly 7-bit or UTF-8.
    raw: withoutNul(raw.subarray(0, RAW_KEPT_BYTES).toString('utf8')),
    raw_bytes: raw.length,
    created_at: ctx.clock(),
  };
}

/** PostgreSQL text cannot hold NUL; a report that has one loses it. */
function withoutNul(text: string): string {
  return text.includes('\0') ? text.replace(/\0/g, '') : text;
}

function emptyReport(): InboundReport {
  return {
    kind: 'unknown',
    format: 'unknown',
    subject: null,
    from: null,
    outcomes: [],
    complaint: null,
    original: { messageId: null, verpId: null, recipient: null },
  };
}
