import { describe, expect, it } from 'vitest';
import { OptionHeaderError, parseOptionHeaders } from '../../src/domain/smtp-option-headers.ts';

const h = (name: string, value: string) => ({ name, value });

describe('X-MT-* option headers', () => {
  it('reads nothing from a message without them', () => {
    expect(parseOptionHeaders([h('Subject', 'hi'), h('X-Mailer', 'app')])).toEqual({});
  });

  it('reads every option, names case-insensitively', () => {
    expect(
      parseOptionHeaders([
        h('x-mt-tracking', 'on'),
        h('X-MT-Sandbox', 'TRUE'),
        h('X-Mt-Transactional', 'no'),
        h('X-MT-Metadata', '{"orderId":"42","customer":"Ada"}'),
        h('X-MT-Campaign-Id', 'spring-sale'),
        h('X-MT-Labels', ' promo, spring ,,'),
      ]),
    ).toEqual({
      openTracking: true,
      clickTracking: true,
      sandbox: true,
      transactional: false,
      metadata: { orderId: '42', customer: 'Ada' },
      campaignId: 'spring-sale',
      labels: ['promo', 'spring'],
    });
  });

  it('lets the specific tracking headers win over X-MT-Tracking, in any order', () => {
    expect(parseOptionHeaders([h('X-MT-Click-Tracking', 'off'), h('X-MT-Tracking', 'on')])).toEqual({
      openTracking: true,
      clickTracking: false,
    });
    expect(parseOptionHeaders([h('X-MT-Tracking', 'off'), h('X-MT-Open-Tracking', '1')])).toEqual({
      openTracking: true,
      clickTracking: false,
    });
  });

  it('decodes UTF-8 metadata sent as raw 8-bit header bytes', () => {
    const raw = Buffer.from('{"name":"Zoë"}', 'utf8').toString('latin1');
    expect(parseOptionHeaders([h('X-MT-Metadata', raw)]).metadata).toEqual({ name: 'Zoë' });
  });

  const refused: Array<[string, string, RegExp]> = [
    ['X-MT-Tracking', 'maybe', /X-MT-Tracking must be on or off/],
    ['X-MT-Sandbox', '', /X-MT-Sandbox must be on or off/],
    ['X-MT-Metadata', '{"a":1}', /X-MT-Metadata value of "a" must be a string/],
    ['X-MT-Metadata', '[1]', /X-MT-Metadata must be a JSON object/],
    ['X-MT-Metadata', '{oops', /X-MT-Metadata must be a JSON object/],
    ['X-MT-Metadata', JSON.stringify({ a: 'x'.repeat(11 * 1024) }), /X-MT-Metadata must be at most 10 KB/],
    ['X-MT-Campaign-Id', 'x'.repeat(257), /X-MT-Campaign-Id must be at most 256 characters/],
    ['X-MT-Campaign-Id', '', /X-MT-Campaign-Id must not be empty/],
    ['X-MT-Labels', Array.from({ length: 51 }, (_, i) => `l${i}`).join(','), /more than 50 labels/],
    ['X-MT-Tracker', 'on', /X-MT-Tracker is not a known option header \(known: X-MT-Tracking, /],
  ];
  it.each(refused)('refuses %s: %s', (name, value, message) => {
    let error: unknown;
    try {
      parseOptionHeaders([h(name, value)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OptionHeaderError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses an option given twice', () => {
    expect(() => parseOptionHeaders([h('X-MT-Sandbox', 'on'), h('x-mt-sandbox', 'off')])).toThrow(
      'X-MT-Sandbox is given more than once',
    );
  });
});
