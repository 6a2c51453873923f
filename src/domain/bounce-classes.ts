// One bounce taxonomy for every delivery backend (the real service's classes), and the rules that
// map an SMTP reply to a class. Classification uses the basic code, the enhanced status code
// (RFC 3463) and a few well-known reply texts, in that order of trust: a precise enhanced code
// beats wording ("Recipient address rejected: Domain not found" is a DNS failure, 4.1.2/5.1.2).

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
export type Disposition =
  { kind: 'delivered' } | { kind: 'retry'; bounceClass: BounceClass } | { kind: 'bounce'; bounceClass: BounceClass };

export function classifyReply(reply: SmtpReply): Disposition {
  if (reply.code >= 200 && reply.code < 300) return { kind: 'delivered' };
  const cls = classifyBounce(reply);
  if (reply.code >= 500) return { kind: 'bounce', bounceClass: cls };
  return { kind: 'retry', bounceClass: cls };
}

// Enhanced status codes (RFC 3463) that say precisely what went wrong, keyed by subject.detail.
// Generic ones (x.0.0, x.3.0, x.5.x …) are left to the reply text.
const BY_ENHANCED: Record<string, (permanent: boolean) => BounceClass> = {
  '1.0': (p) => (p ? 10 : 20), // other address status
  '1.1': (p) => (p ? 10 : 20), // bad destination mailbox address
  '1.3': (p) => (p ? 10 : 20), // bad destination mailbox address syntax
  '1.6': (p) => (p ? 10 : 20), // destination mailbox has moved
  '2.1': (p) => (p ? 10 : 20), // mailbox disabled
  '1.10': (p) => (p ? 10 : 20), // recipient address has null MX (RFC 7505): the domain takes no mail
  '1.7': (p) => (p ? 40 : 20), // bad sender mailbox address syntax: the sender's problem
  '1.8': (p) => (p ? 40 : 20), // bad sender system address: the sender's problem
  '1.2': () => 21, // bad destination system address (no such domain)
  '4.4': () => 21, // unable to route
  '4.3': () => 21, // directory server failure: DNS did not answer
  '2.2': () => 22, // mailbox full
  '2.3': () => 23, // message length exceeds administrative limit
  '3.4': () => 23, // message too big for system
  '4.1': () => 24, // no answer from host
  '4.2': () => 24, // bad connection
  '4.7': () => 24, // delivery time expired
};

const TEXT_RULES: Array<[RegExp, (permanent: boolean) => BounceClass]> = [
  [
    /blocked|blacklist|blocklist|spamhaus|barracuda|\bpolicy\b|rejected as spam|spam detected|poor reputation|denied/,
    (p) => (p ? 50 : 20),
  ],
  [
    new RegExp(
      "user unknown|unknown user|no such user|user not found|does not exist|doesn't exist|mailbox unavailable|" +
        'mailbox not found|invalid recipient|invalid mailbox|recipient unknown|unknown recipient|no mailbox|' +
        'recipient address rejected|account (is )?disabled|' +
        String.raw`doesn't have an? [\w.-]+ account|not listed in (the )?(domino )?directory|no such (mailbox|account)`,
    ),
    (p) => (p ? 10 : 20),
  ],
  [/host not found|domain not found|unrouteable|unroutable|no mx|name or service not known|nxdomain/, () => 21],
  [
    /mailbox (is )?full|over quota|quota exceeded|exceeds? (its |the )?quota|insufficient storage|exceeded storage/,
    () => 22,
  ],
  [/too large|too big|size limit|exceeds (the )?(maximum )?(message )?size/, () => 23],
  [/timed? ?out|timeout/, () => 24],
  [/no valid recipients|no recipients/, () => 30],
];

export function classifyBounce(reply: SmtpReply): BounceClass {
  const text = reply.text.toLowerCase();
  const enh = reply.enhanced ?? '';
  const permanent = reply.code >= 500 || enh.startsWith('5.');

  if (reply.code === 0) {
    if (/enotfound|eai_again|\bdns\b|no mx|name not resolved|nxdomain/.test(text)) return 21;
    return 24; // connection refused/reset/timeout: transient until the retry window ends
  }
  // Auto-replies and unsubscribe answers arrive as DSN-like replies and would match the rules below.
  if (/auto[- ]?reply|auto[- ]?response|out of (the )?office|vacation/.test(text)) return 60;
  if (/unsubscribe/.test(text) && permanent) return 90;
  // The enhanced code is the receiver's own precise verdict, so it wins over wording.
  if (enh.startsWith('5.7.') || enh.startsWith('4.7.')) return permanent ? 50 : 20;
  const byCode = BY_ENHANCED[enh.slice(2)];
  if (byCode) return byCode(permanent);
  for (const [pattern, cls] of TEXT_RULES) if (pattern.test(text)) return cls(permanent);
  if (reply.code === 552) return 22; // RFC 5321: "exceeded storage allocation"
  return permanent ? 40 : 20;
}
