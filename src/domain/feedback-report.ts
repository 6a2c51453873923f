// The machine-readable part of an ARF complaint (RFC 5965 `message/feedback-report`): one block of
// fields saying what kind of feedback it is and, when the provider tells, what the original's
// envelope was. Mailbox providers redact much of it (Original-Rcpt-To is often missing). Pure.
import { bareAddress, fieldBlocks } from './delivery-status.ts';

export interface FeedbackReport {
  /** abuse | fraud | virus | other | not-spam | auth-failure (lower-cased); "abuse" when missing. */
  feedbackType: string;
  userAgent: string | null;
  originalMailFrom: string | null;
  originalRcptTo: string | null;
  sourceIp: string | null;
  arrivalDate: string | null;
  reportedDomain: string | null;
}

export function parseFeedbackReport(text: string): FeedbackReport {
  const fields = new Map<string, string>();
  for (const block of fieldBlocks(text)) for (const [k, v] of block) if (!fields.has(k)) fields.set(k, v);
  return {
    feedbackType: (fields.get('feedback-type') ?? 'abuse').trim().toLowerCase() || 'abuse',
    userAgent: fields.get('user-agent') ?? null,
    originalMailFrom: bareAddress(fields.get('original-mail-from')),
    originalRcptTo: bareAddress(fields.get('original-rcpt-to')),
    sourceIp: fields.get('source-ip') ?? null,
    arrivalDate: fields.get('arrival-date') ?? fields.get('received-date') ?? null,
    reportedDomain: fields.get('reported-domain') ?? null,
  };
}

/** Feedback types that are complaints about the mail (the rest: "not-spam", authentication reports). */
export function isComplaint(feedbackType: string): boolean {
  return feedbackType === 'abuse' || feedbackType === 'fraud' || feedbackType === 'virus' || feedbackType === 'other';
}
