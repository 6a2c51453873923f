// The suppression policy as a pure function: which events suppress an address, which grow or
// reset a soft-bounce streak, and what the operator's switches turn off.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SUPPRESSION_POLICY,
  archiveAdditionFor,
  concernsSuppression,
  planSuppressions,
  softBounceReason,
  suppressionApplies,
  type PolicyEvent,
  type SuppressionPolicy,
} from '../../src/domain/suppression-policy.ts';
import { ADDITION } from '../../src/domain/subscriber-status.ts';

const A = 'acct-a';
const B = 'acct-b';

function event(type: string, recipient: string | null, data: Record<string, unknown> = {}, account = A): PolicyEvent {
  return { account_id: account, type, recipient, data: JSON.stringify(data) };
}
const bounce = (cls: number, recipient = 'x@example.org', extra: Record<string, unknown> = {}) =>
  event('bounce', recipient, { bounceClass: cls, reason: `class ${cls}`, via: 'smtp://relay:587', ...extra });
const delivery = (recipient = 'x@example.org', extra: Record<string, unknown> = {}) =>
  event('delivery', recipient, { response: '250 ok', ...extra });

const plan = (events: PolicyEvent[], policy: Partial<SuppressionPolicy> = {}) =>
  planSuppressions(events, { ...DEFAULT_SUPPRESSION_POLICY, ...policy });

describe('hard bounces, complaints and unsubscribes', () => {
  it('suppresses at once on a hard bounce (10, 30) as bounce, and 90 as unsubscribe', () => {
    expect(plan([bounce(10, 'a@x.org'), bounce(30, 'b@x.org'), bounce(90, 'c@x.org')]).suppress).toEqual([
      { accountId: A, email: 'a@x.org', type: 'bounce', reason: 'class 10' },
      { accountId: A, email: 'b@x.org', type: 'bounce', reason: 'class 30' },
      { accountId: A, email: 'c@x.org', type: 'unsubscribe', reason: 'class 90' },
    ]);
  });

  it('does nothing for class 50 (already suppressed, or a block of the sender) and 60 (auto-reply)', () => {
    const p = plan([bounce(50), bounce(60)]);
    expect(p).toEqual({ suppress: [], streaks: [] });
    expect([bounce(50), bounce(60)].some(concernsSuppression)).toBe(false);
  });

  it('suppresses a spam complaint and an unsubscribe from everything, lower-casing the address', () => {
    const p = plan([
      event('spam_complaint', 'Reader@Example.ORG', { feedbackType: 'abuse' }),
      event('unsubscribe', 'leaver@example.org', { subscriberId: 3, channelId: null }),
    ]);
    expect(p.suppress).toEqual([
      { accountId: A, email: 'reader@example.org', type: 'spam_complaint', reason: 'The recipient reported spam' },
      { accountId: A, email: 'leaver@example.org', type: 'unsubscribe', reason: 'The recipient unsubscribed' },
    ]);
  });

  it('leaves an address alone that unsubscribed from one channel but stays in others', () => {
    const partial = event('unsubscribe', 'stays@example.org', { channelId: 4, partial: true });
    expect(plan([partial]).suppress).toEqual([]);
    expect(concernsSuppression(partial)).toBe(false);
  });

  it('keeps the first suppression of an address in a batch, per account', () => {
    const p = plan([
      event('spam_complaint', 'x@example.org'),
      bounce(10, 'x@example.org'),
      bounce(10, 'x@example.org', { reason: 'other account' }),
    ]);
    expect(p.suppress.map((s) => s.type)).toEqual(['spam_complaint']);
    const two = plan([bounce(10, 'x@example.org'), { ...bounce(10, 'x@example.org'), account_id: B }]);
    expect(two.suppress.map((s) => s.accountId)).toEqual([A, B]);
  });

  it('obeys the switches: no hard-bounce, complaint or unsubscribe suppression when turned off', () => {
    const events = [bounce(10, 'a@x.org'), event('spam_complaint', 'b@x.org'), event('unsubscribe', 'c@x.org')];
    expect(plan(events, { hardBounces: false }).suppress.map((s) => s.email)).toEqual(['b@x.org', 'c@x.org']);
    expect(plan(events, { complaints: false }).suppress.map((s) => s.email)).toEqual(['a@x.org', 'c@x.org']);
    expect(plan(events, { unsubscribes: false }).suppress.map((s) => s.email)).toEqual(['a@x.org', 'b@x.org']);
  });

  it('ignores events without a recipient and other event types', () => {
    expect(
      plan([event('bounce', null, { bounceClass: 10 }), event('open', 'x@example.org'), event('injection', 'y@x.org')]),
    ).toEqual({ suppress: [], streaks: [] });
  });

  it('cuts a very long reason', () => {
    const [s] = plan([bounce(10, 'x@example.org', { reason: 'r'.repeat(5000) })]).suppress;
    expect(s!.reason.length).toBe(1000);
  });
});

describe('soft-bounce streaks', () => {
  it('counts soft bounces of classes 20–24 per address, with the last reason', () => {
    const p = plan([bounce(20), bounce(22, 'x@example.org', { reason: 'mailbox full' }), bounce(21, 'y@example.org')]);
    expect(p.suppress).toEqual([]);
    expect(p.streaks).toEqual([
      { accountId: A, email: 'x@example.org', reset: false, softBounces: 2, lastReason: 'mailbox full' },
      { accountId: A, email: 'y@example.org', reset: false, softBounces: 1, lastReason: 'class 21' },
    ]);
  });

  it('does not count a generic bounce (40), nor a relay that could not be reached at all', () => {
    expect(plan([bounce(40), bounce(24, 'x@example.org', { via: 'none' })]).streaks).toEqual([]);
  });

  it('resets on a delivery; soft bounces after it start a new streak', () => {
    expect(plan([bounce(20), delivery()]).streaks).toEqual([
      { accountId: A, email: 'x@example.org', reset: true, softBounces: 0, lastReason: 'class 20' },
    ]);
    expect(plan([bounce(20), delivery(), bounce(23)]).streaks).toEqual([
      { accountId: A, email: 'x@example.org', reset: true, softBounces: 1, lastReason: 'class 23' },
    ]);
  });

  it('lists every delivered address, so a streak it had ends (a delivery is the common case)', () => {
    expect(plan([delivery('a@x.org'), delivery('B@x.org')]).streaks.map((s) => [s.email, s.reset])).toEqual([
      ['a@x.org', true],
      ['b@x.org', true],
    ]);
  });

  it('does not treat a captured (sandbox) message as a delivery', () => {
    expect(plan([delivery('x@example.org', { captured: true })]).streaks).toEqual([]);
    expect(concernsSuppression(delivery('x@example.org', { captured: true }))).toBe(false);
  });

  it('drops the streak of an address suppressed in the same batch', () => {
    expect(plan([bounce(20), bounce(10)])).toMatchObject({ streaks: [], suppress: [{ type: 'bounce' }] });
  });

  it('keeps no streaks at all when the limit is 0 (never)', () => {
    expect(plan([bounce(20), delivery('y@x.org')], { softBounceLimit: 0 }).streaks).toEqual([]);
  });

  it('names the limit and the last reason when a streak suppresses', () => {
    expect(softBounceReason(5, '452 4.2.2 mailbox full')).toBe(
      '5 soft bounces in a row; the last: 452 4.2.2 mailbox full',
    );
  });
});

describe('what an entry holds back', () => {
  it('an unsubscribe holds back marketing mail only; every other type all mail', () => {
    expect(suppressionApplies('unsubscribe', true)).toBe(false);
    expect(suppressionApplies('unsubscribe', false)).toBe(true);
    for (const type of ['bounce', 'spam_complaint', 'manual']) {
      expect(suppressionApplies(type, true)).toBe(true);
      expect(suppressionApplies(type, false)).toBe(true);
    }
  });

  it('archives a subscriber with the matching statusAddition', () => {
    expect(archiveAdditionFor('spam_complaint')).toBe(ADDITION.SPAM_COMPLAINT);
    expect(archiveAdditionFor('bounce')).toBe(ADDITION.HARD_BOUNCE);
    expect(archiveAdditionFor('unsubscribe')).toBe(ADDITION.UNSUBSCRIBED);
    expect(archiveAdditionFor('manual')).toBe(ADDITION.MANUAL);
  });
});
