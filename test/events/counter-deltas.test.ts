import { describe, expect, it } from 'vitest';
import { counterDeltas, linkClickDeltas, metricsOf, type CountedEvent } from '../../src/events/counter-deltas.ts';

const AT = Date.UTC(2025, 4, 6, 23, 59, 59);
const ev = (type: string, data: Record<string, unknown> = {}, extra: Partial<CountedEvent> = {}): CountedEvent => ({
  account_id: 'acc',
  type,
  transmission_id: 't1',
  mailing_id: null,
  recipient: 'Someone@Example.ORG',
  data: JSON.stringify(data),
  created_at: AT,
  ...extra,
});

describe('event → counter metrics', () => {
  it('maps every counted event type', () => {
    expect(metricsOf('injection', {})).toEqual(['injected']);
    expect(metricsOf('delivery', {})).toEqual(['sent', 'delivered']);
    expect(metricsOf('delay', {})).toEqual(['deferred']);
    expect(metricsOf('bounce', { bounceClass: 10 })).toEqual(['sent', 'bounced', 'bounced_hard']);
    expect(metricsOf('bounce', { bounceClass: 22 })).toEqual(['sent', 'bounced', 'bounced_soft']);
    // Suppressed before sending (class 50) and out-of-band bounces were never (or already) sent.
    expect(metricsOf('bounce', { bounceClass: 50 })).toEqual(['bounced', 'bounced_hard']);
    expect(metricsOf('bounce', { bounceClass: 10, outOfBand: true })).toEqual(['bounced', 'bounced_hard']);
    expect(metricsOf('policy_rejection', {})).toEqual(['rejected']);
    expect(metricsOf('open', { unique: true, machine: true })).toEqual(['opens', 'unique_opens', 'machine_opens']);
    expect(metricsOf('open', {})).toEqual(['opens']);
    expect(metricsOf('click', { unique: true })).toEqual(['clicks', 'unique_clicks']);
    expect(metricsOf('unsubscribe', {})).toEqual(['unsubscribes']);
    expect(metricsOf('spam_complaint', {})).toEqual(['complaints']);
    expect(metricsOf('subscriber.created', {})).toEqual([]);
  });
});

describe('aggregation of a batch', () => {
  it('one delta per distinct counter, in every scope, on the UTC day', () => {
    const deltas = counterDeltas(
      [
        ev('delivery'),
        ev('delivery', {}, { recipient: 'x@other.test' }),
        ev('delivery', {}, { transmission_id: null, mailing_id: '7' }),
      ],
      (id) => (id === 't1' ? { sendingDomain: 'brand.test', labels: ['a', 'a', 'b'] } : undefined),
    );
    const get = (scope: string, id: string, metric: string) =>
      deltas.find((d) => d.scope === scope && d.scope_id === id && d.metric === metric)?.value;
    expect(new Set(deltas.map((d) => d.day))).toEqual(new Set(['2025-05-06']));
    expect(get('account', '', 'delivered')).toBe(3);
    expect(get('account', '', 'sent')).toBe(3);
    expect(get('transmission', 't1', 'delivered')).toBe(2);
    expect(get('mailing', '7', 'delivered')).toBe(1);
    expect(get('recipient_domain', 'example.org', 'delivered')).toBe(2);
    expect(get('recipient_domain', 'other.test', 'delivered')).toBe(1);
    expect(get('sending_domain', 'brand.test', 'delivered')).toBe(2);
    expect(get('label', 'a', 'delivered')).toBe(2); // a label listed twice counts once per event
    expect(get('label', 'b', 'delivered')).toBe(2);
    // No duplicate keys, and a stable sorted order (lock order on PostgreSQL).
    const keys = deltas.map((d) => [d.account_id, d.scope, d.scope_id, d.day, d.metric].join('|'));
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keys);
  });

  it('per-link clicks, unique per link', () => {
    const click = (url: string, uniqueLink: boolean, linkIndex: number) => ev('click', { url, uniqueLink, linkIndex });
    const links = linkClickDeltas([
      click('https://a.test/', true, 0),
      click('https://a.test/', false, 0),
      click('https://b.test/', true, 1),
      ev('open'),
    ]);
    expect(links).toEqual([
      {
        account_id: 'acc',
        scope: 'transmission',
        scope_id: 't1',
        url: 'https://a.test/',
        link_index: 0,
        clicks: 2,
        unique_clicks: 1,
      },
      {
        account_id: 'acc',
        scope: 'transmission',
        scope_id: 't1',
        url: 'https://b.test/',
        link_index: 1,
        clicks: 1,
        unique_clicks: 1,
      },
    ]);
  });
});
