import { describe, expect, it } from 'vitest';
import { daysOf, percent, ratesOf, resolvePeriod, totalsOf } from '../../src/services/statistics.ts';
import { ServiceError } from '../../src/services/errors.ts';

const NOW = Date.UTC(2025, 2, 15, 13, 0, 0);

describe('statistics periods', () => {
  it('defaults to the last 30 UTC days', () => {
    expect(resolvePeriod(NOW)).toEqual({ fromDay: '2025-02-14', toDay: '2025-03-15' });
    expect(daysOf(resolvePeriod(NOW))).toHaveLength(30);
  });

  it('takes dates, ISO date-times (with offsets) and the marketing format, by UTC day', () => {
    expect(resolvePeriod(NOW, '2025-03-01', '2025-03-02')).toEqual({ fromDay: '2025-03-01', toDay: '2025-03-02' });
    expect(resolvePeriod(NOW, '2025-03-01T23:30:00+02:00', '2025-03-02 23:59:59')).toEqual({
      fromDay: '2025-03-01',
      toDay: '2025-03-02',
    });
    expect(resolvePeriod(NOW, '2025-03-01T23:30:00-02:00', '2025-03-03T00:00:00Z')).toEqual({
      fromDay: '2025-03-02',
      toDay: '2025-03-03',
    });
    expect(resolvePeriod(NOW, undefined, '2025-01-31')).toEqual({ fromDay: '2025-01-02', toDay: '2025-01-31' });
  });

  it('refuses impossible dates, reversed and over-long periods', () => {
    for (const [from, to] of [
      ['2025-02-29', undefined],
      ['2025-3-1', undefined],
      ['yesterday', undefined],
      ['2025-03-02', '2025-03-01'],
      ['2024-01-01', '2025-03-01'],
    ] as const) {
      expect(() => resolvePeriod(NOW, from, to), `${from}..${to}`).toThrow(ServiceError);
    }
  });

  it('rates are percentages with two decimals, zero without a base', () => {
    expect(percent(1, 3)).toBe(33.33);
    expect(percent(2, 3)).toBe(66.67);
    expect(percent(1, 0)).toBe(0);
    const t = totalsOf({
      injected: 4,
      sent: 4,
      delivered: 3,
      bounced: 1,
      unique_opens: 3,
      unique_clicks: 1,
      unsubscribes: 1,
    });
    expect(ratesOf(t)).toEqual({
      deliveryRate: 75,
      openRate: 100,
      clickRate: 33.33,
      bounceRate: 25,
      unsubscribeRate: 25,
    });
  });
});
