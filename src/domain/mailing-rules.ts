// The rules of a mailing's life, without I/O: its types and statuses, which action is allowed in
// which status, and what a mailing needs before it can go out.

export const MAILING_TYPES = ['standard', 'optIn', 'optOut', 'trigger', 'birthday'] as const;
export type MailingType = (typeof MAILING_TYPES)[number];

export const MAILING_STATUSES = ['draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled'] as const;
export type MailingStatus = (typeof MAILING_STATUSES)[number];

export type MailingAction = 'edit' | 'delete' | 'send' | 'schedule' | 'pause' | 'resume' | 'cancel';

// Which statuses each action starts from. Only drafts and scheduled mailings change or go away;
// a mailing that has started keeps its content, so what was sent stays known.
const ALLOWED_FROM: Record<MailingAction, readonly MailingStatus[]> = {
  edit: ['draft', 'scheduled'],
  delete: ['draft', 'scheduled'],
  send: ['draft', 'scheduled'],
  schedule: ['draft', 'scheduled'],
  pause: ['sending'],
  resume: ['paused'],
  cancel: ['scheduled', 'sending', 'paused'],
};

export function allowedIn(action: MailingAction, status: string): boolean {
  return (ALLOWED_FROM[action] as readonly string[]).includes(status);
}

/** Why an action is refused in a status, in words for the API's error message. */
export function refusal(action: MailingAction, status: string): string {
  const from = ALLOWED_FROM[action].join(' or ');
  return (
    `A mailing that is ${status} cannot ` +
    `${action === 'edit' ? 'be changed' : action === 'delete' ? 'be deleted' : action}; only a mailing that is ` +
    `${from} can.`
  );
}

/** Outbox statuses a mailing's message is finished in. */
export const FINAL_MESSAGE_STATUSES = ['delivered', 'bounced', 'suppressed', 'captured', 'cancelled'] as const;
/** A paused mailing's queued messages wait in this status (the claim query never picks it). */
export const HELD_STATUS = 'held';

export interface SendableMailing {
  subject: string | null;
  html: string | null;
  text: string | null;
  senderEmail: string | null;
}

/** The fields a mailing still lacks before it can be sent or scheduled: field → message. */
export function missingForSend(m: SendableMailing): Record<string, string> {
  const missing: Record<string, string> = {};
  if (!m.subject || !m.subject.trim()) missing.subject = 'A mailing needs a subject before it can be sent.';
  if (!m.html && !m.text) missing.html = 'A mailing needs html or text before it can be sent.';
  if (!m.senderEmail)
    missing.senderEmail = 'A mailing needs a senderEmail (or a channel with a sender) before it can be sent.';
  return missing;
}

/** Test sends are marked in the subject so nobody takes them for the real thing. */
export function testSubject(subject: string): string {
  return `[Test] ${subject}`;
}
