import { describe, expect, it } from 'vitest';
import { allowedIn, missingForSend, testSubject } from '../../src/domain/mailing-rules.ts';
import { listIdHeader, mailingTemplates, recipientVariables } from '../../src/domain/mailing-content.ts';
import { openToken, sealToken } from '../../src/domain/tokens.ts';

const SECRET = 'b'.repeat(64);
const NOW = Date.UTC(2025, 0, 1);

describe('mailing rules', () => {
  it('lets only drafts and scheduled mailings change, and moves through its life', () => {
    expect(allowedIn('edit', 'draft') && allowedIn('edit', 'scheduled')).toBe(true);
    for (const s of ['sending', 'paused', 'sent', 'cancelled']) expect(allowedIn('edit', s)).toBe(false);
    expect(allowedIn('send', 'sending') || allowedIn('send', 'sent')).toBe(false);
    expect(allowedIn('pause', 'sending') && allowedIn('resume', 'paused') && allowedIn('cancel', 'paused')).toBe(true);
    expect(allowedIn('resume', 'sending') || allowedIn('cancel', 'sent')).toBe(false);
  });

  it('names what a mailing lacks before sending', () => {
    expect(missingForSend({ subject: ' ', html: null, text: null, senderEmail: null })).toEqual({
      subject: expect.any(String),
      html: expect.any(String),
      senderEmail: expect.any(String),
    });
    expect(missingForSend({ subject: 'Hi', html: null, text: 't', senderEmail: 'a@b.c' })).toEqual({});
    expect(testSubject('Hi')).toBe('[Test] Hi');
  });

  it('places the preheader after <body> and keeps its placeholders', () => {
    const t = mailingTemplates({
      subject: 'S',
      preheader: 'Hi {{ firstname }} & co',
      html: '<html><body class="x"><p>b</p></body></html>',
      text: null,
    });
    expect(t.html).toMatch(
      /^<html><body class="x"><div [^>]*display:none[^>]*>Hi \{\{ firstname \}\} &amp; co<\/div><p>b<\/p>/,
    );
    expect(mailingTemplates({ subject: 'S', preheader: null, html: '<p>x</p>', text: null }).html).toBe('<p>x</p>');
  });

  it('gives templates subscriber fields, custom fields by id and name, and links', () => {
    const s = {
      id: 7,
      email: 'a@b.c',
      gender_id: null,
      language_iso: 'de',
      title: null,
      firstname: 'Ann',
      lastname: null,
      company: null,
      street: null,
      postcode: null,
      city: null,
      phone_number: null,
      birthday: null,
    };
    const v = recipientVariables(
      s,
      new Map([[3, 'blue']]),
      new Map([[3, ['colour', 'Farbe']]]),
      { unsubscribeUrl: 'u', preferencesUrl: 'p', webViewUrl: 'w' },
      { id: 1, name: 'M', customerFields: {} },
    );
    expect(v).toMatchObject({
      firstname: 'Ann',
      lastname: '',
      email: 'a@b.c',
      unsubscribeUrl: 'u',
      webViewUrl: 'w',
      customerFields: { '3': 'blue', colour: 'blue', Farbe: 'blue' },
    });
  });

  it('writes List-Id as plain words and a stable id', () => {
    expect(listIdHeader('acc1', { id: 4, name: 'Weekly "News"' }, 'example.com')).toBe(
      'Weekly News <channel-4.acc1.example.com>',
    );
    expect(listIdHeader('acc1', { id: 4, name: 'Ümlaut' }, 'example.com')).toBe('mlaut <channel-4.acc1.example.com>');
    expect(listIdHeader('acc1', null, 'example.com')).toBe('Newsletter <all.acc1.example.com>');
  });
});

describe('tokens with a mailing id', () => {
  it('round-trip the mailing id, stay short, and old-style tokens still open', () => {
    const payload = {
      purpose: 'view' as const,
      accountId: '0193a5b2c3d40000a1b2c3d4',
      subscriberId: 99,
      channelId: null,
      mailingId: 123456,
      exp: NOW + 1000_000,
    };
    const token = sealToken(SECRET, payload);
    expect(token.length).toBeLessThan(100);
    expect(openToken(SECRET, token, 'view', NOW)).toEqual(payload);
    const old = sealToken(SECRET, { ...payload, mailingId: null });
    expect(openToken(SECRET, old, 'view', NOW)).toEqual({ ...payload, mailingId: undefined, channelId: null });
    expect(openToken(SECRET, token, 'unsubscribe', NOW)).toBeNull();
  });
});
