// One bounce taxonomy for every delivery backend (the real service's classes), and the rules that
// map an SMTP reply to a class. Classification uses the basic code, the enhanced status code
// (RFC 3463) and a few well-known reply texts.

export const BOUNCE_CLASSES = {
  10: { name: 'Invalid Recipient', kind: 'hard' },
  20: { name: 'Soft Bounce', kind: 'soft' },
  21: { name: 'DNS Failure', kind: 'soft' },
  22: { name: 'Mailbox Full', kind: 'soft' },
  23: { name: 'Too Large', kind: 'soft' },
  24: { name: 'Timeout', kind: 'soft' },
  30: { name: 'Generic Bounce: No RCPT', kind: 'hard' },
  40: { name: 'Generic Bounce', kind: 'soft' },
  50: { name: 'Mail Block / Suppressed by policy', kind: 'hard' },
  60: { name: 'Auto-Reply', kind: 'soft' },
  90: { name: 'Unsubscribe', kind: 'hard' },
} as const;

export type BounceClass = keyof typeof BOUNCE_CLASSES;

export function isHardBounce(cls: number): boolean {
  return (BOUNCE_CLASSES as Record<number, { kind: string }>)[cls]?.kind === 'hard';
}

export interface SmtpReply {
  code: number; // basic reply code, 0 when there was no reply (connection failure)
  enhanced?: string; // e.g. "5.1.1"
  text: string;
}

/** Pulls the basic and enhanced codes out of a reply line like "550 5.1.1 <x>: user unknown". */
export function parseSmtpReply(line: string, fallbackCode = 0): SmtpReply {
  const m = /^(\d{3})[ -](?:(\d\.\d{1,3}\.\d{1,3})\s)?/.exec(line.trim());
  return {
    code: m ? Number(m[1]) : fallbackCode,
    enhanced: m?.[2],
    text: line.trim(),
  };
}

/** What the worker does next after a reply: deliver, retry later, or bounce now (with a class). */
export type Disposition = { kind: 'delivered' } | { kind: 'retry'; bounceClass: BounceClass } | { kind: 'bounce'; bounceClass: BounceClass };

export function classifyReply(reply: SmtpReply): Disposition {
  if (reply.code >= 200 && reply.code < 300) return { kind: 'delivered' };
  const cls = classifyBounce(reply);
  if (reply.code >= 500) return { kind: 'bounce', bounceClass: cls };
  return { kind: 'retry', bounceClass: cls };
}

export function classifyBounce(reply: SmtpReply): BounceClass {
  const text = reply.text.toLowerCase();
  const enh = reply.enhanced ?? '';
  const permanent = reply.code >= 500 || enh.startsWith('5.');

  if (reply.code === 0) {
    if (/enotfound|dns|no mx|name not resolved|nxdomain/.test(text)) return 21;
    return 24; // connection refused/reset/timeout: transient until the retry window ends
  }
  if (/auto[- ]?reply|out of (the )?office|vacation/.test(text)) return 60;
  if (/unsubscribe/.test(text) && permanent) return 90;
  // Policy / reputation blocks before mailbox checks: "5.7.x" and the usual blocklist words.
  if (enh.startsWith('5.7.') || /blocked|blacklist|blocklist|spamhaus|policy|rejected as spam|denied/.test(text)) {
    return permanent ? 50 : 20;
  }
  if (enh === '5.1.1' || enh === '5.1.0' || enh === '5.1.3' || /user unknown|no such user|unknown user|does not exist|mailbox unavailable|invalid recipient|recipient address rejected|no mailbox/.test(text)) {
    return permanent ? 10 : 20;
  }
  if (enh === '5.1.2' || enh === '4.1.2' || /host not found|domain not found|no mx/.test(text)) return 21;
  if (enh.endsWith('.2.2') || /mailbox full|over quota|quota exceeded|insufficient storage/.test(text)) return 22;
  if (enh.endsWith('.3.4') || reply.code === 552 && /size|too large|too big/.test(text) || /message too large|size limit/.test(text)) return 23;
  if (enh.endsWith('.4.7') || /timed? ?out/.test(text)) return 24;
  if (/no valid recipients|no recipients/.test(text)) return 30;
  return permanent ? 40 : 20;
}
