// Bounces written for people, not machines: the plain-text non-delivery reports of qmail, Exim,
// old Postfix and Sendmail, Exchange, Yahoo, Lotus Domino and friends, which carry no
// message/delivery-status part. What can be read from them: that they are bounces at all (sender,
// subject, X-Failed-Recipients), whether the failure is final or a delay warning, which addresses
// failed, and the SMTP reply (code, enhanced code, text) given for each. Pure.
import { bareAddress } from './delivery-status.ts';

export interface TextOutcome {
  recipient: string;
  /** The part of the explanation about this recipient (its error lines), trimmed. */
  diagnostic: string;
  code: number;
  enhanced: string | null;
}

export interface TextBounce {
  action: 'failed' | 'delayed';
  /** Per failed address, in the order they appear; empty when no address could be read. */
  outcomes: TextOutcome[];
  /** The reply found in the whole explanation (when no address could be read, it applies to the message). */
  overall: { code: number; enhanced: string | null; diagnostic: string };
}

const DAEMON_SENDER =
  /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mail\.?delivery(\.?subsystem)?|microsoftexchange[0-9a-f]*)@/i;
const BOUNCE_SUBJECT =
  /undeliver|undelivered|delivery (status )?notification|returned mail|failure notice|delivery fail|mail delivery (failed|system|subsystem)|non-?delivery|could not be delivered|not delivered|delivery has failed|returned to sender|message not delivered|delivery incomplete|delivery problem|mail system error|warning: message .* delayed|delivery delayed|delayed mail|nondeliverable|unzustellbar|non remis/i;

/** Whether a message without a DSN part still reads as a bounce. */
export function looksLikeTextBounce(
  from: string | null,
  subject: string | null,
  failedRecipientsHeader: boolean,
): boolean {
  if (failedRecipientsHeader) return true;
  const sender = bareAddress(from) ?? '';
  if (DAEMON_SENDER.test(sender)) return true;
  return !!subject && BOUNCE_SUBJECT.test(subject);
}

// Where the explanation ends and the returned copy of the message begins.
const COPY_MARKERS = [
  /^-+ ?Below this line is a copy of the message/im,
  /^-+ ?This is a copy of the message/im,
  /^-+ ?(Original|Returned|Undelivered) message/im,
  /^-+ ?The header of the original message is following/im,
  /^Original message headers:/im,
  /^-+ ?Original message follows/im,
  /^-+ ?Message header follows/im,
  /^Received: /im,
  /^Return-Path: /im,
];

export function explanationOf(text: string): string {
  let end = text.length;
  for (const marker of COPY_MARKERS) {
    const m = marker.exec(text);
    if (m && m.index < end) end = m.index;
  }
  return text.slice(0, end);
}

const PERMANENT =
  /permanent|gave up|giving up|given up|could not be delivered|couldn't be delivered|wasn't delivered|was not delivered|failed permanently|delivery has failed|did not reach|unable to deliver|undeliverable|fatal error|address(es)? failed/i;
const DELAYED =
  /not yet been delivered|has been delayed|delivery (is )?delayed|will (continue|keep) (to )?try|attempts will continue|still (pending|trying)|will retry|delivery incomplete|temporar(y|ily) (failure|problem|error|deferred)|warning: message/i;

const PAIR = /(?<![\d.])([45]\d\d)[ -]#?([45]\.\d{1,3}\.\d{1,3})(?![\d])/;
const ENHANCED = /(?<![\w.])#?([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)/;
const CODE = /(?<![\w.])([45]\d\d)(?=[ :-](?!\d)|$)/m;

/** The first SMTP reply to be read in a piece of text: code, enhanced code, and the line it is on. */
export function findReply(text: string): { code: number; enhanced: string | null; line: string } | null {
  const lines = text.split(/\r?\n/);
  const lineOf = (index: number) => {
    const start = text.lastIndexOf('\n', index) + 1;
    const stop = text.indexOf('\n', index);
    return text.slice(start, stop < 0 ? text.length : stop).trim();
  };
  const pair = PAIR.exec(text);
  if (pair) return { code: Number(pair[1]), enhanced: pair[2], line: lineOf(pair.index) };
  const enhanced = ENHANCED.exec(text);
  const code = CODE.exec(text);
  if (!enhanced && !code) return lines.length ? null : null;
  const fromEnhanced = enhanced ? Number(enhanced[1][0]) * 100 + 50 : 0; // 5.x.x → 550, 4.x.x → 450
  return {
    code: code ? Number(code[1]) : fromEnhanced,
    enhanced: enhanced ? enhanced[1] : null,
    line: lineOf((code ?? enhanced)!.index),
  };
}

const ADDRESS = /<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+)>?/g;
const NOT_A_RECIPIENT =
  /^(mailer-daemon|postmaster|hostmaster|abuse|noreply|no-reply|bounces?(\+[^@]*)?|unsubscribe\+[^@]*)@/i;

/** Addresses named in the explanation, in order, without the daemon's and the return path's own. */
function addressesIn(explanation: string, exclude: Set<string>): Array<{ address: string; index: number }> {
  const seen = new Set<string>();
  const out: Array<{ address: string; index: number }> = [];
  for (const m of explanation.matchAll(ADDRESS)) {
    const address = m[1].replace(/\.$/, '');
    const key = address.toLowerCase();
    if (seen.has(key) || exclude.has(key) || NOT_A_RECIPIENT.test(address)) continue;
    // Message-ID look-alikes ("<0123abcd@host>" in a quoted header) are not recipients.
    if (/^[0-9a-f]{16,}@/i.test(address)) continue;
    seen.add(key);
    out.push({ address, index: m.index });
  }
  return out;
}

function clip(text: string, max = 500): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Reads a text bounce. `failedRecipients` comes from X-Failed-Recipients (Exim) when present;
 * `exclude` holds addresses that cannot be the failed recipient (the report's own From and To).
 */
export function parseTextBounce(
  text: string,
  subject: string | null,
  failedRecipients: string[],
  exclude: string[],
): TextBounce {
  const explanation = explanationOf(text);
  const judged = `${subject ?? ''}\n${explanation}`;
  const action = DELAYED.test(judged) && !PERMANENT.test(judged) ? 'delayed' : 'failed';
  const reply = findReply(explanation);
  const overall = {
    code: reply?.code ?? (action === 'failed' ? 550 : 450),
    enhanced: reply?.enhanced ?? null,
    diagnostic: clip(reply?.line || firstSentences(explanation)),
  };

  const excluded = new Set(exclude.map((e) => e.toLowerCase()));
  const found = addressesIn(explanation, excluded);
  const named = failedRecipients.map((a) => a.toLowerCase());
  const listed = named.length
    ? named.map((address) => ({
        address,
        index: found.find((f) => f.address.toLowerCase() === address)?.index ?? -1,
      }))
    : found;
  const positioned = listed.filter((l) => l.index >= 0).sort((a, b) => a.index - b.index);
  const outcomes = listed.map(({ address, index }): TextOutcome => {
    if (index < 0)
      return { recipient: address, diagnostic: overall.diagnostic, code: overall.code, enhanced: overall.enhanced };
    // This address's section: from its mention to the next address's mention.
    const next = positioned.find((p) => p.index > index)?.index ?? explanation.length;
    const section = explanation.slice(index, next);
    const own = findReply(section);
    return {
      recipient: address,
      diagnostic: clip(own?.line || section.replace(address, '')) || overall.diagnostic,
      code: own?.code ?? overall.code,
      enhanced: own?.enhanced ?? (own ? null : overall.enhanced),
    };
  });
  return { action, outcomes, overall };
}

function firstSentences(text: string): string {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .slice(0, 2)
    .join(' ');
}
