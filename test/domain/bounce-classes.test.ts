// The bounce table: realistic reply lines from real receivers, one or more per class.
import { describe, expect, it } from 'vitest';
import {
  BOUNCE_CLASSES,
  classifyBounce,
  classifyReply,
  isHardBounce,
  parseSmtpReply,
} from '../../src/domain/bounce-classes.ts';

const classOf = (line: string) => classifyBounce(parseSmtpReply(line));

describe('parseSmtpReply', () => {
  it('reads the basic and the enhanced code', () => {
    expect(parseSmtpReply('550 5.1.1 <a@b.example>: Recipient address rejected')).toEqual({
      code: 550,
      enhanced: '5.1.1',
      text: '550 5.1.1 <a@b.example>: Recipient address rejected',
    });
    expect(parseSmtpReply('451 Try again later')).toEqual({
      code: 451,
      enhanced: undefined,
      text: '451 Try again later',
    });
    expect(parseSmtpReply('550-5.1.1 The email account that you tried to reach does not exist.')).toMatchObject({
      code: 550,
      enhanced: '5.1.1',
    });
  });

  it('falls back to the given code when the line has none', () => {
    expect(parseSmtpReply('connect ECONNREFUSED 127.0.0.1:25')).toMatchObject({ code: 0, enhanced: undefined });
    expect(parseSmtpReply('OK', 250)).toMatchObject({ code: 250 });
  });
});

describe('classifyBounce', () => {
  const cases: Array<[number, string]> = [
    [10, '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table'],
    [
      10,
      "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos",
    ],
    [10, '550 Requested action not taken: mailbox unavailable'],
    [10, '550 5.2.1 The email account that you tried to reach is disabled.'],
    // Wordings of the plain-text bounces the inbound receiver reads (test/fixtures/bounces).
    [10, "554 delivery error: dd This user doesn't have a yahoo.example account (a@yahoo.example) [0]"],
    [10, '550 User a@corp.example not listed in Domino Directory'],
    [10, '550 No such mailbox'],
    [20, '451 4.3.0 Temporary local problem - please try later'],
    [
      20,
      '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered',
    ],
    [20, '421 4.7.0 Try again later, closing connection.'],
    [20, '450 4.1.1 <a@example.org>: Recipient address rejected: User unknown in local recipient table'],
    [21, '550 5.1.2 <x@no-such-domain.example>: Recipient address rejected: Domain not found'],
    [21, '450 4.1.2 <x@no-such-domain.example>: Recipient address rejected: Domain not found'],
    [21, '554 5.4.4 Unable to route: no mail hosts for domain'],
    [22, '552 5.2.2 The email account that you tried to reach is over quota.'],
    [22, '452 4.2.2 Mailbox full'],
    [22, '552 Requested mail action aborted: exceeded storage allocation'],
    [23, '552 5.3.4 Message size exceeds fixed maximum message size'],
    [23, '552 5.2.3 Message exceeds local size limit'],
    [23, '554 Message too large'],
    [24, '451 4.4.7 Delivery time expired'],
    [24, '421 4.4.2 Connection timed out'],
    [30, '554 5.5.0 No valid recipients'],
    [40, '554 5.0.0 Service unavailable'],
    [40, '550 5.1.8 <bounce@sender.example>: Sender address rejected: Domain not found'],
    [50, '550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org'],
    [50, '554 5.7.1 Message rejected as spam by Content Filtering'],
    [50, '550 Message rejected because of poor reputation'],
    [60, '550 5.0.0 Auto-Reply: I am out of the office until Monday'],
    [60, '250 Out of Office: back next week'],
    [90, '550 5.0.0 Recipient has asked to unsubscribe from this list'],
  ];

  it.each(cases)('class %i from "%s"', (cls, line) => {
    expect(classOf(line)).toBe(cls);
  });

  it('covers every class of the table', () => {
    expect(new Set(cases.map(([c]) => c))).toEqual(new Set(Object.keys(BOUNCE_CLASSES).map(Number)));
  });

  it('treats a missing reply as a connection failure: DNS failures 21, everything else 24', () => {
    expect(
      classifyBounce({
        code: 0,
        text: 'no relay could be reached (smtp://127.0.0.1:1: ECONNECTION connect ECONNREFUSED 127.0.0.1:1)',
      }),
    ).toBe(24);
    expect(classifyBounce({ code: 0, text: 'getaddrinfo ENOTFOUND mx.nowhere.example' })).toBe(21);
    expect(classifyBounce({ code: 0, text: 'Greeting never received (ETIMEDOUT)' })).toBe(24);
  });

  it('classes the verdicts of the mx transport’s own DNS look-ups', () => {
    // A null MX (RFC 7505) says the domain takes no mail at all: a hard bounce of the address.
    expect(classifyReply(parseSmtpReply('556 5.1.10 example.com accepts no mail (null MX, RFC 7505)'))).toEqual({
      kind: 'bounce',
      bounceClass: 10,
    });
    // A domain that does not exist is a DNS failure, bounced at once but not suppressed (class 21 is soft).
    expect(classifyReply(parseSmtpReply('550 5.1.2 nowhere.example: the domain does not exist (NXDOMAIN)'))).toEqual({
      kind: 'bounce',
      bounceClass: 21,
    });
    // A resolver that fails (SERVFAIL, timeout) is a DNS failure to retry.
    expect(
      classifyReply(parseSmtpReply('451 4.4.3 example.com: MX look-up failed (ESERVFAIL), will try again')),
    ).toEqual({
      kind: 'retry',
      bounceClass: 21,
    });
  });

  it('lets the enhanced code win over misleading wording', () => {
    // "mailbox unavailable" sounds like an unknown user; 5.2.2 says mailbox full.
    expect(classOf('552 5.2.2 Requested mailbox unavailable: over quota')).toBe(22);
    // A block that mentions the recipient is still a block.
    expect(classOf('550 5.7.1 <a@example.org>: Recipient address rejected: Access denied')).toBe(50);
  });
});

describe('classifyReply', () => {
  it('delivers on 2xx, retries on 4xx and connection failures, bounces on 5xx', () => {
    expect(classifyReply(parseSmtpReply('250 2.0.0 Ok: queued as 4BkK1x'))).toEqual({ kind: 'delivered' });
    expect(classifyReply(parseSmtpReply('451 4.3.0 Try again'))).toEqual({ kind: 'retry', bounceClass: 20 });
    expect(classifyReply({ code: 0, text: 'ECONNREFUSED' })).toEqual({ kind: 'retry', bounceClass: 24 });
    expect(classifyReply(parseSmtpReply('550 5.1.1 User unknown'))).toEqual({ kind: 'bounce', bounceClass: 10 });
    expect(classifyReply(parseSmtpReply('552 5.2.2 Mailbox full'))).toEqual({ kind: 'bounce', bounceClass: 22 });
  });
});

// What a bounce does to the address is the suppression policy's (test/domain/suppression-policy.test.ts).
describe('hard bounces', () => {
  it('marks 10, 30, 50 and 90 hard and the rest soft', () => {
    const hard = Object.keys(BOUNCE_CLASSES).map(Number).filter(isHardBounce);
    expect(hard).toEqual([10, 30, 50, 90]);
  });
});
