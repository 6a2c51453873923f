// The corpus of reports in test/fixtures/bounces and what each must come to. The files are
// modelled on the structure, headers and status lines of the named systems' real reports; the
// placeholders are filled per test with a real message's return path, Message-ID and recipients:
//   {{VERP}} bounces+<outbox id>@<return-path domain>   {{MESSAGE_ID}} the Message-ID, bare
//   {{RCPT}} {{RCPT2}} {{RCPT3}} the recipients          {{FROM}} the original sender
//   {{BARE_BOUNCES}} bounces@<return-path domain>        {{BARE_FBL}} fbl@<return-path domain>
import fs from 'node:fs';
import path from 'node:path';

export const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'bounces');

export interface ExpectedOutcome {
  /** Which placeholder recipient (1 = {{RCPT}}). */
  rcpt: 1 | 2 | 3;
  action: 'failed' | 'delayed' | 'auto-replied';
  bounceClass: number;
}

export interface Fixture {
  file: string;
  mta: string;
  kind: 'bounce' | 'complaint' | 'auto_reply' | 'unknown';
  format: 'dsn' | 'text' | 'arf' | 'feedback-loop' | 'auto-reply' | 'unknown';
  /** The envelope recipient the report is delivered to. */
  sendTo: 'verp' | 'bare-bounces' | 'bare-fbl';
  /** How many recipients the original message had. */
  recipients: 1 | 2 | 3;
  outcomes: ExpectedOutcome[];
}

const bounce = (
  file: string,
  mta: string,
  format: 'dsn' | 'text',
  outcomes: ExpectedOutcome[],
  sendTo: Fixture['sendTo'] = 'verp',
): Fixture => ({
  file,
  mta,
  kind: 'bounce',
  format,
  sendTo,
  recipients: Math.max(...outcomes.map((o) => o.rcpt)) as 1 | 2 | 3,
  outcomes,
});
const failed = (bounceClass: number, rcpt: 1 | 2 | 3 = 1): ExpectedOutcome => ({ rcpt, action: 'failed', bounceClass });
const delayed = (bounceClass: number, rcpt: 1 | 2 | 3 = 1): ExpectedOutcome => ({
  rcpt,
  action: 'delayed',
  bounceClass,
});
const complaint = (file: string, mta: string, format: 'arf' | 'feedback-loop'): Fixture => ({
  file,
  mta,
  kind: 'complaint',
  format,
  sendTo: 'bare-fbl',
  recipients: 1,
  outcomes: [],
});

export const BOUNCE_FIXTURES: Fixture[] = [
  bounce('postfix-dsn-user-unknown.eml', 'Postfix', 'dsn', [failed(10)]),
  bounce('postfix-dsn-mailbox-full.eml', 'Postfix', 'dsn', [failed(22)]),
  bounce('postfix-dsn-delayed.eml', 'Postfix', 'dsn', [delayed(24)]),
  bounce('postfix-dsn-host-not-found.eml', 'Postfix', 'dsn', [failed(21)]),
  bounce('postfix-text-user-unknown.eml', 'Postfix (plain text)', 'text', [failed(10)]),
  bounce('postfix-dsn-three-recipients.eml', 'Postfix', 'dsn', [failed(10, 1), failed(22, 2), delayed(24, 3)]),
  bounce('exim-user-unknown.eml', 'Exim', 'text', [failed(10)]),
  bounce('exim-mailbox-full.eml', 'Exim', 'text', [failed(22)]),
  bounce('exim-delay-warning.eml', 'Exim', 'text', [delayed(20)]),
  bounce('exim-two-recipients.eml', 'Exim', 'text', [failed(10, 1), failed(22, 2)]),
  bounce('sendmail-dsn-user-unknown.eml', 'Sendmail', 'dsn', [failed(10)]),
  bounce('sendmail-dsn-warning.eml', 'Sendmail', 'dsn', [delayed(24)]),
  bounce('qmail-remote-user-unknown.eml', 'qmail', 'text', [failed(10)]),
  bounce('qmail-no-mailbox.eml', 'qmail', 'text', [failed(10)]),
  bounce('qmail-over-quota.eml', 'qmail', 'text', [failed(22)]),
  bounce('exchange2003-text.eml', 'Exchange 2003', 'text', [failed(10)]),
  bounce('exchange2010-dsn.eml', 'Exchange 2010', 'dsn', [failed(10)]),
  bounce('office365-dsn-blocked.eml', 'Office 365', 'dsn', [failed(50)]),
  bounce('office365-dsn-quota.eml', 'Office 365', 'dsn', [failed(22)]),
  bounce('gmail-dsn-address-not-found.eml', 'Gmail', 'dsn', [failed(10)]),
  bounce('gmail-dsn-delayed-inbox-full.eml', 'Gmail', 'dsn', [delayed(22)]),
  bounce('gmail-dsn-unauthenticated.eml', 'Gmail', 'dsn', [failed(50)]),
  bounce('yahoo-text-no-account.eml', 'Yahoo', 'text', [failed(10)]),
  bounce('yahoo-text-deferred.eml', 'Yahoo', 'text', [delayed(20)]),
  bounce('outlookcom-dsn-mailbox-unavailable.eml', 'Outlook.com', 'dsn', [failed(10)]),
  bounce('domino-text-not-listed.eml', 'Lotus Domino', 'text', [failed(10)]),
  bounce('courier-dsn-user-unknown.eml', 'Courier', 'dsn', [failed(10)]),
  // Sent to the bare bounce mailbox: matched by the returned Message-ID alone.
  bounce('amazonses-dsn-by-message-id.eml', 'Amazon SES', 'dsn', [failed(10)], 'bare-bounces'),
];

export const OTHER_FIXTURES: Fixture[] = [
  {
    file: 'autoreply-outlook.eml',
    mta: 'Outlook',
    kind: 'auto_reply',
    format: 'auto-reply',
    sendTo: 'verp',
    recipients: 1,
    outcomes: [{ rcpt: 1, action: 'auto-replied', bounceClass: 60 }],
  },
  {
    file: 'autoreply-vacation.eml',
    mta: 'vacation(1)',
    kind: 'auto_reply',
    format: 'auto-reply',
    sendTo: 'verp',
    recipients: 1,
    outcomes: [{ rcpt: 1, action: 'auto-replied', bounceClass: 60 }],
  },
  {
    file: 'human-reply-unknown.eml',
    mta: 'a person',
    kind: 'unknown',
    format: 'unknown',
    sendTo: 'verp',
    recipients: 1,
    outcomes: [],
  },
];

export const COMPLAINT_FIXTURES: Fixture[] = [
  complaint('arf-yahoo.eml', 'Yahoo CFL', 'arf'),
  complaint('arf-microsoft-jmrp.eml', 'Microsoft JMRP', 'arf'),
  complaint('arf-aol.eml', 'AOL', 'arf'),
  complaint('arf-comcast-headers-only.eml', 'Comcast (Validity)', 'arf'),
  complaint('feedback-loop-legacy.eml', 'legacy ISP feedback loop', 'feedback-loop'),
];

export interface FixtureValues {
  verp: string;
  messageId: string;
  rcpt: string[];
  from: string;
  returnPathDomain: string;
}

/** The fixture with its placeholders filled, CRLF line endings (as SMTP carries it). */
export function fillFixture(file: string, v: FixtureValues): string {
  const text = fs
    .readFileSync(path.join(FIXTURE_DIR, file), 'utf8')
    .replaceAll('{{VERP}}', v.verp)
    .replaceAll('{{MESSAGE_ID}}', v.messageId)
    .replaceAll('{{RCPT}}', v.rcpt[0] ?? 'nobody@recipient.example')
    .replaceAll('{{RCPT2}}', v.rcpt[1] ?? 'nobody2@recipient.example')
    .replaceAll('{{RCPT3}}', v.rcpt[2] ?? 'nobody3@recipient.example')
    .replaceAll('{{FROM}}', v.from)
    .replaceAll('{{BARE_BOUNCES}}', `bounces@${v.returnPathDomain}`)
    .replaceAll('{{BARE_FBL}}', `fbl@${v.returnPathDomain}`);
  return text.replace(/\r?\n/g, '\r\n');
}

export function envelopeRecipient(f: Fixture, v: FixtureValues): string {
  return f.sendTo === 'verp'
    ? v.verp
    : f.sendTo === 'bare-bounces'
      ? `bounces@${v.returnPathDomain}`
      : `fbl@${v.returnPathDomain}`;
}
