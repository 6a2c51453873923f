import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { parseInboundReport } from '../../src/domain/inbound-report.ts';
import { parseMime } from '../../src/domain/mime-tree.ts';
import { parseDeliveryStatus } from '../../src/domain/delivery-status.ts';
import { parseTextBounce } from '../../src/domain/text-bounce.ts';
import { outboxIdOfMessageId, parseReturnPathAddress, verpIdOf } from '../../src/domain/return-path-address.ts';
import {
  BOUNCE_FIXTURES,
  COMPLAINT_FIXTURES,
  FIXTURE_DIR,
  OTHER_FIXTURES,
  fillFixture,
  type FixtureValues,
} from '../helpers/inbound-fixtures.ts';

const OUTBOX_ID = '0193a1b2c3d40000deadbeef';
const values: FixtureValues = {
  verp: `bounces+${OUTBOX_ID}@bounces.posthorn.test`,
  messageId: `${OUTBOX_ID}@example.com`,
  rcpt: ['first@recipient.example', 'second@recipient.example', 'third@recipient.example'],
  from: 'Shop <shop@example.com>',
  returnPathDomain: 'bounces.posthorn.test',
};
/** Reports that return no copy of the message: only their VERP address tells which one it was. */
const WITHOUT_COPY = new Set([
  'domino-text-not-listed.eml',
  'exchange2003-text.eml',
  'exim-delay-warning.eml',
  'yahoo-text-deferred.eml',
]);
const parse = (file: string) => parseInboundReport(Buffer.from(fillFixture(file, values), 'utf8'));

describe('the fixture corpus', () => {
  it('has at least 25 bounces from at least 8 systems, a multi-recipient DSN and complaints from 3 providers', () => {
    expect(BOUNCE_FIXTURES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(BOUNCE_FIXTURES.map((f) => f.mta.split(' ')[0])).size).toBeGreaterThanOrEqual(8);
    expect(BOUNCE_FIXTURES.some((f) => f.format === 'dsn' && f.outcomes.length >= 3)).toBe(true);
    expect(new Set(COMPLAINT_FIXTURES.map((f) => f.mta)).size).toBeGreaterThanOrEqual(3);
    const listed = new Set([...BOUNCE_FIXTURES, ...COMPLAINT_FIXTURES, ...OTHER_FIXTURES].map((f) => f.file));
    expect(
      fs
        .readdirSync(FIXTURE_DIR)
        .filter((f) => f.endsWith('.eml'))
        .sort(),
    ).toEqual([...listed].sort());
  });
});

describe('parseInboundReport: bounces', () => {
  it.each(BOUNCE_FIXTURES.map((f) => [f.file, f] as const))('%s', (file, f) => {
    const report = parse(file);
    expect(report.kind).toBe('bounce');
    expect(report.format).toBe(f.format);
    expect(
      report.outcomes.map((o) => ({ recipient: o.recipient, action: o.action, bounceClass: o.bounceClass })),
    ).toEqual(
      f.outcomes.map((o) => ({ recipient: values.rcpt[o.rcpt - 1], action: o.action, bounceClass: o.bounceClass })),
    );
    for (const o of report.outcomes) expect(o.reason.length).toBeGreaterThan(3);
    // What the report is matched by besides its VERP address: the returned copy's Message-ID.
    expect(report.original.messageId).toBe(WITHOUT_COPY.has(file) ? null : values.messageId);
  });

  it('reads the VERP id of the returned Return-Path', () => {
    expect(parse('postfix-dsn-user-unknown.eml').original.verpId).toBe(OUTBOX_ID);
    expect(parse('qmail-remote-user-unknown.eml').original.verpId).toBe(OUTBOX_ID);
    expect(parse('amazonses-dsn-by-message-id.eml').original.verpId).toBeNull();
  });

  it('keeps the status and the diagnostic of each recipient of a multi-recipient DSN', () => {
    const report = parse('postfix-dsn-three-recipients.eml');
    expect(report.outcomes.map((o) => o.status)).toEqual(['5.1.1', '5.2.2', '4.4.2']);
    expect(report.outcomes[1].reason).toContain('Mailbox full');
  });
});

describe('parseInboundReport: complaints, auto-replies, the rest', () => {
  it.each(COMPLAINT_FIXTURES.map((f) => [f.file, f] as const))('%s is a complaint', (file, f) => {
    const report = parse(file);
    expect(report.kind).toBe('complaint');
    expect(report.format).toBe(f.format);
    expect(report.complaint!.feedbackType).toBe('abuse');
    expect(report.original.messageId).toBe(values.messageId);
  });

  it('reads what each provider gives of the original envelope', () => {
    const yahoo = parse('arf-yahoo.eml');
    expect(yahoo.complaint).toMatchObject({ userAgent: 'Yahoo!-Mail-Feedback/2.0', originalRcptTo: values.rcpt[0] });
    expect(verpIdOf(yahoo.complaint!.originalMailFrom)).toBe(OUTBOX_ID);
    // Microsoft redacts the recipient in the report; the copy's X-HmXmrOriginalRecipient names it.
    expect(parse('arf-microsoft-jmrp.eml').original.recipient).toBe(values.rcpt[0]);
    expect(parse('arf-aol.eml').original.verpId).toBe(OUTBOX_ID);
    expect(verpIdOf(parse('arf-comcast-headers-only.eml').complaint!.originalMailFrom)).toBe(OUTBOX_ID);
  });

  it.each(OTHER_FIXTURES.map((f) => [f.file, f] as const))('%s', (file, f) => {
    const report = parse(file);
    expect(report.kind).toBe(f.kind);
    expect(report.outcomes.map((o) => o.bounceClass)).toEqual(f.outcomes.map((o) => o.bounceClass));
  });

  it('does not take a DSN for an auto-reply although DSNs say Auto-Submitted', () => {
    expect(parse('postfix-dsn-user-unknown.eml').kind).toBe('bounce');
  });

  it('reads feedback reports that are not complaints as unknown', () => {
    const raw = fillFixture('arf-yahoo.eml', values).replace('Feedback-Type: abuse', 'Feedback-Type: not-spam');
    expect(parseInboundReport(Buffer.from(raw)).kind).toBe('unknown');
  });
});

describe('malformed input', () => {
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['no head', Buffer.from('just some text\r\n')],
    ['binary', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37) % 256))],
    [
      'unterminated multipart report',
      Buffer.from(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n',
      ),
    ],
    [
      'nested too deep',
      Buffer.from(
        Array.from({ length: 50 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join(
          '',
        ),
      ),
    ],
    ['boundary without a value', Buffer.from('Content-Type: multipart/report; boundary=\r\n\r\nhello\r\n')],
  ];

  it.each(inputs)('%s: never throws', (_name, raw) => {
    const report = parseInboundReport(raw);
    expect(['bounce', 'complaint', 'auto_reply', 'unknown']).toContain(report.kind);
  });

  it('reads a DSN without a per-message block', () => {
    const report = parseInboundReport(
      Buffer.from(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--x--\r\n',
      ),
    );
    expect(report.outcomes).toMatchObject([{ recipient: 'a@b.example', action: 'failed', bounceClass: 10 }]);
  });
});

describe('pieces', () => {
  it('decodes quoted-printable and base64 parts', () => {
    const tree = parseMime(
      Buffer.from(
        'Content-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak =3D ok\r\n--q\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--q--\r\n',
      ),
    );
    expect(tree.parts.map((p) => p.body.toString())).toEqual(['softbreak = ok', 'hello']);
  });

  it('parses RFC 3464 fields with continuation lines', () => {
    const dsn = parseDeliveryStatus(
      'Reporting-MTA: dns; mx.example\r\nOriginal-Envelope-Id: abc\r\n\r\nFinal-Recipient: rfc822; <x@y.example>\r\nAction: Failed\r\nStatus: 5.2.2 (mailbox full)\r\nDiagnostic-Code: smtp; 552 5.2.2\r\n  over quota\r\n',
    );
    expect(dsn).toEqual({
      reportingMta: 'mx.example',
      originalEnvelopeId: 'abc',
      recipients: [
        {
          recipient: 'x@y.example',
          action: 'failed',
          status: '5.2.2',
          diagnostic: '552 5.2.2 over quota',
          remoteMta: null,
        },
      ],
    });
  });

  it('does not read an IP address as an enhanced status code', () => {
    const bounce = parseTextBounce('<a@b.example>:\nconnect to 10.4.1.5 failed: permanent error', null, [], []);
    expect(bounce.outcomes[0]).toMatchObject({ recipient: 'a@b.example', enhanced: null });
  });

  it('parses return-path addresses', () => {
    expect(parseReturnPathAddress('bounces+0193a1b2c3d40000deadbeef@Bounces.Example.com')).toEqual({
      kind: 'bounce',
      messageId: '0193a1b2c3d40000deadbeef',
      domain: 'bounces.example.com',
    });
    expect(parseReturnPathAddress('unsubscribe+abc@example.com')).toMatchObject({
      kind: 'unsubscribe',
      messageId: 'abc',
    });
    expect(parseReturnPathAddress('fbl@example.com')).toMatchObject({ kind: 'mailbox', mailbox: 'fbl' });
    expect(parseReturnPathAddress('someone@example.com')).toBeNull();
    expect(parseReturnPathAddress('bounces+a/b@example.com')).toBeNull();
    expect(outboxIdOfMessageId('<0193a1b2c3d40000deadbeef@example.com>')).toBe('0193a1b2c3d40000deadbeef');
    expect(outboxIdOfMessageId('<CAF+xyz@mail.example>')).toBeNull();
  });
});
