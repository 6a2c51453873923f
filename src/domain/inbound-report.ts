// What a message that arrived at the return path is: a DSN (RFC 3464), a plain-text bounce, an ARF
// complaint (RFC 5965, and the older feedback-loop shapes that attach the original without a
// feedback-report part), an auto-reply, or something else. For bounces, each recipient's outcome
// is classified with the one bounce table (bounce-classes.ts) from its status code, diagnostic text
// and action. The returned copy of the original (message/rfc822 or text/rfc822-headers, or the
// headers quoted in a text bounce) gives what the report is matched by: the VERP id of its
// Return-Path and its Message-ID. Pure; never throws on any input.
import libmime from 'libmime';
import { classifyBounce, parseSmtpReply, type BounceClass } from './bounce-classes.ts';
import { bareAddress, parseDeliveryStatus } from './delivery-status.ts';
import { isComplaint, parseFeedbackReport, type FeedbackReport } from './feedback-report.ts';
import { allParts, field, parseMime, partText, type MimePart } from './mime-tree.ts';
import { parseHead } from './mime-head.ts';
import { looksLikeTextBounce, parseTextBounce } from './text-bounce.ts';
import { bareMessageId, verpIdOf } from './return-path-address.ts';

export type ReportKind = 'bounce' | 'complaint' | 'auto_reply' | 'unknown';

/** The shape the report was read from (stored with it, for whoever inspects reports). */
export type ReportFormat = 'dsn' | 'text' | 'arf' | 'feedback-loop' | 'auto-reply' | 'unknown';

export interface RecipientOutcome {
  /** The address the outcome is about; null when the report does not say (the VERP address does). */
  recipient: string | null;
  /** failed or delayed; a DSN's delivered/relayed/expanded recipients are kept for the record. */
  action: string;
  status: string | null;
  /** The SMTP reply or explanation the class was read from. */
  reason: string;
  bounceClass: BounceClass;
}

export interface OriginalMessage {
  /** Its Message-ID, without angle brackets. */
  messageId: string | null;
  /** The outbox id of its VERP Return-Path, when the copy shows it. */
  verpId: string | null;
  /** The recipient it shows (To, or a provider's own header), for complaints whose report redacts it. */
  recipient: string | null;
}

export interface InboundReport {
  kind: ReportKind;
  format: ReportFormat;
  subject: string | null;
  from: string | null;
  /** Bounces and auto-replies: one per recipient the report speaks of. */
  outcomes: RecipientOutcome[];
  complaint: FeedbackReport | null;
  original: OriginalMessage;
}

const AUTO_REPLY_SUBJECT =
  /^(auto(matic)?[ -]?(reply|response|antwort)|autoreply|auto:|out of (the )?office|ooo\b|abwesenheit|absence|vacation|r[ée]ponse automatique|away from)/i;

export function parseInboundReport(raw: Buffer): InboundReport {
  const root = parseMime(raw);
  const subject = decode(field(root, 'subject'));
  const from = decode(field(root, 'from'));
  const base = { subject, from, outcomes: [], complaint: null };
  const parts = allParts(root);
  const original = originalOf(parts);

  const reportType = (root.params['report-type'] ?? '').toLowerCase();
  const dsnPart = parts.find(
    (p) => p.contentType === 'message/delivery-status' || p.contentType === 'message/global-delivery-status',
  );
  const feedbackPart = parts.find((p) => p.contentType === 'message/feedback-report');

  if (feedbackPart || reportType === 'feedback-report') {
    const complaint = parseFeedbackReport(feedbackPart ? partText(feedbackPart) : '');
    return {
      ...base,
      kind: isComplaint(complaint.feedbackType) ? 'complaint' : 'unknown',
      format: 'arf',
      complaint,
      original,
    };
  }
  if (dsnPart) {
    const dsn = parseDeliveryStatus(partText(dsnPart));
    const outcomes = dsn.recipients
      .filter((r) => r.action !== null || r.status !== null)
      .map((r) => outcomeOf(r.recipient, r.action ?? actionOfStatus(r.status), r.status, r.diagnostic));
    if (outcomes.length > 0) return { ...base, kind: 'bounce', format: 'dsn', outcomes, original };
  }

  const text = bodyText(root);
  const failedHeader = field(root, 'x-failed-recipients');
  if (looksLikeTextBounce(from, subject, failedHeader !== undefined)) {
    const exclude = [bareAddress(from), ...addressesOf(field(root, 'to'))].filter((a): a is string => !!a);
    const failed = addressesOf(failedHeader);
    const bounce = parseTextBounce(text, subject, failed, exclude);
    const outcomes = bounce.outcomes.length
      ? bounce.outcomes.map((o) =>
          outcomeOf(o.recipient, bounce.action, o.enhanced, replyLine(o.code, o.enhanced, o.diagnostic)),
        )
      : [
          outcomeOf(
            null,
            bounce.action,
            bounce.overall.enhanced,
            replyLine(bounce.overall.code, bounce.overall.enhanced, bounce.overall.diagnostic),
          ),
        ];
    // A text bounce quotes the original's headers inline rather than attaching them.
    return {
      ...base,
      kind: 'bounce',
      format: 'text',
      outcomes,
      original: mergeOriginal(original, inlineOriginal(text)),
    };
  }

  if (isAutoReply(root, subject)) {
    const reason = `Auto-reply: ${subject ?? '(no subject)'}`.slice(0, 500);
    return {
      ...base,
      kind: 'auto_reply',
      format: 'auto-reply',
      outcomes: [{ recipient: bareAddress(from), action: 'auto-replied', status: null, reason, bounceClass: 60 }],
      original: mergeOriginal(original, inlineOriginal(text)),
    };
  }

  // Feedback loops older than ARF (Microsoft's first JMRP, some ISPs' own): the complained-about
  // message attached, a subject or sender saying it is a complaint.
  const attached = parts.some((p) => p.contentType === 'message/rfc822' || p.contentType === 'text/rfc822-headers');
  if (
    attached &&
    /complain|abuse report|spam report|feedback ?loop|junk mail report/i.test(`${subject ?? ''} ${from ?? ''}`)
  ) {
    const complaint: FeedbackReport = {
      feedbackType: 'abuse',
      userAgent: null,
      originalMailFrom: null,
      originalRcptTo: null,
      sourceIp: null,
      arrivalDate: null,
      reportedDomain: null,
    };
    return { ...base, kind: 'complaint', format: 'feedback-loop', complaint, original };
  }
  return { ...base, kind: 'unknown', format: 'unknown', original: mergeOriginal(original, inlineOriginal(text)) };
}

function outcomeOf(
  recipient: string | null,
  action: string,
  status: string | null,
  diagnostic: string | null,
): RecipientOutcome {
  const reply = diagnostic ? parseSmtpReply(diagnostic) : { code: 0, text: '' };
  const enhanced = status ?? reply.enhanced;
  // A DSN's Status is the reporting MTA's verdict; the reply code may be missing from its diagnostic.
  const code = reply.code || (enhanced ? Number(enhanced[0]) * 100 + 50 : action === 'delayed' ? 450 : 550);
  const text = diagnostic ?? (enhanced ? `Status ${enhanced}` : action);
  const bounceClass = classifyBounce({ code, enhanced, text });
  const reason = (diagnostic ?? `${code} ${enhanced ?? ''}`.trim()).slice(0, 1000);
  return { recipient, action, status: enhanced ?? null, reason, bounceClass };
}

function actionOfStatus(status: string | null): string {
  return status?.startsWith('4.') ? 'delayed' : status?.startsWith('2.') ? 'delivered' : 'failed';
}

/** `550 5.1.1 text`: a reply line for the classifier, from a code, an enhanced code and the text around them. */
function replyLine(code: number, enhanced: string | null, diagnostic: string): string {
  return `${code} ${enhanced ? `${enhanced} ` : ''}${stripCode(diagnostic)}`;
}

function stripCode(diagnostic: string): string {
  return diagnostic.replace(/^.*?(?<![\d.])[45]\d\d[ -:]+(#?[45]\.\d{1,3}\.\d{1,3}\s*)?/, '').trim() || diagnostic;
}

function decode(value: string | undefined): string | null {
  if (value === undefined) return null;
  try {
    // Header bytes were read as latin1; encoded-words (RFC 2047) carry their own charset.
    return libmime.decodeWords(Buffer.from(value, 'latin1').toString('utf8')).slice(0, 998);
  } catch {
    return value.slice(0, 998);
  }
}

function addressesOf(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((v) => bareAddress(v))
    .filter((a): a is string => !!a);
}

/** The readable text of the report: its text/plain parts (not those inside an attached original). */
function bodyText(root: MimePart): string {
  const texts: string[] = [];
  const walk = (p: MimePart) => {
    if (p.contentType === 'message/rfc822') return;
    if (p.parts.length) p.parts.forEach(walk);
    else if (p.contentType === 'text/plain') texts.push(partText(p));
    else if (p.contentType === 'text/html' && texts.length === 0)
      texts.push(
        partText(p)
          .replace(/<(br|p|div|tr|li)\b[^>]*>/gi, '\n')
          .replace(/<[^>]+>/g, ' ')
          .replace(/&nbsp;/g, ' ')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&'),
      );
  };
  walk(root);
  return texts.join('\n\n').slice(0, 200_000);
}

function isAutoReply(root: MimePart, subject: string | null): boolean {
  const auto = field(root, 'auto-submitted')?.toLowerCase();
  if (auto && auto !== 'no') return true;
  if (field(root, 'x-autoreply') !== undefined || field(root, 'x-autorespond') !== undefined) return true;
  if (/auto[-_]?reply/i.test(field(root, 'precedence') ?? '')) return true;
  return !!subject && AUTO_REPLY_SUBJECT.test(subject);
}

/** The original from an attached copy (message/rfc822) or its headers (text/rfc822-headers). */
function originalOf(parts: MimePart[]): OriginalMessage {
  const copy = parts.find((p) => p.contentType === 'message/rfc822' || p.contentType === 'text/rfc822-headers');
  if (!copy) return { messageId: null, verpId: null, recipient: null };
  return headersOriginal(parseHead(copy.body).fields);
}

function headersOriginal(fields: Array<{ key: string; value: string }>): OriginalMessage {
  const get = (name: string) => fields.find((f) => f.key === name)?.value;
  const recipient =
    bareAddress(get('x-hmxmroriginalrecipient')) ??
    bareAddress(get('x-original-to')) ??
    bareAddress(get('delivered-to')) ??
    bareAddress(get('to'));
  return {
    messageId: bareMessageId(get('message-id')),
    verpId: verpIdOf(get('return-path')) ?? verpIdOf(get('x-posthorn-return-path')),
    recipient,
  };
}

/** Headers quoted in the body of a text bounce ("---- Below this line is a copy of the message."). */
function inlineOriginal(text: string): OriginalMessage {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^(Return-Path|Received|Message-ID|DKIM-Signature|From|Date):/i.test(l.trim()));
  if (start < 0) return { messageId: null, verpId: null, recipient: null };
  // Quoted headers may be indented by the daemon: unindent, keep continuation lines.
  const block = lines
    .slice(start, start + 200)
    .map((l) => l.replace(/^\s{1,8}(?=[A-Za-z-]+:)/, ''))
    .join('\r\n');
  const fields = parseHead(Buffer.from(`${block}\r\n\r\n`, 'latin1')).fields;
  const messageId = bareMessageId(fields.find((f) => f.key === 'message-id')?.value);
  const verp = verpIdOf(fields.find((f) => f.key === 'return-path')?.value) ?? verpIdOf(text);
  return { messageId, verpId: verp, recipient: null };
}

function mergeOriginal(a: OriginalMessage, b: OriginalMessage): OriginalMessage {
  return {
    messageId: a.messageId ?? b.messageId,
    verpId: a.verpId ?? b.verpId,
    recipient: a.recipient ?? b.recipient,
  };
}
