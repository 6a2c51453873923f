import { describe, expect, it } from 'vitest';
import {
  chooseVariant,
  isValidTriggerKey,
  primaryVariant,
  triggerVariables,
  variantLanguages,
} from '../../src/domain/trigger-mailings.ts';

describe('trigger mailings (domain)', () => {
  const variants = [
    { id: 7, language_iso: 'de' },
    { id: 3, language_iso: 'en' },
    { id: 9, language_iso: null },
  ];

  it('accepts keys of a-z 0-9 _ . - up to 64 characters', () => {
    expect(isValidTriggerKey('order.confirmed_v2-b')).toBe(true);
    expect(isValidTriggerKey('a'.repeat(64))).toBe(true);
    for (const bad of ['', 'a'.repeat(65), 'Order', 'a b', 'a/b', 'ä']) expect(isValidTriggerKey(bad)).toBe(false);
  });

  it('picks the requested language, then the subscriber’s, then the oldest variant', () => {
    expect(chooseVariant(variants, 'de', 'en')!.id).toBe(7);
    expect(chooseVariant(variants, null, 'de')!.id).toBe(7);
    expect(chooseVariant(variants, 'fr', 'de')!.id).toBe(7);
    expect(chooseVariant(variants, 'fr', 'it')!.id).toBe(3);
    expect(primaryVariant(variants)!.id).toBe(3);
    expect(variantLanguages(variants)).toEqual(['de', 'en']);
  });

  it('lets data win at the top level but never over the links, subscriber or mailing', () => {
    const base = {
      firstname: 'Petra',
      unsubscribeUrl: 'https://x/p/unsubscribe/t',
      subscriber: { firstname: 'Petra' },
      mailing: { id: 1 },
    };
    const out = triggerVariables(base, {
      firstname: 'P.',
      unsubscribeUrl: 'https://evil',
      subscriber: {},
      mailing: {},
      orderNo: 5,
    });
    expect(out).toEqual({
      firstname: 'P.',
      unsubscribeUrl: 'https://x/p/unsubscribe/t',
      subscriber: { firstname: 'Petra' },
      mailing: { id: 1 },
      orderNo: 5,
      data: { firstname: 'P.', unsubscribeUrl: 'https://evil', subscriber: {}, mailing: {}, orderNo: 5 },
    });
  });
});
