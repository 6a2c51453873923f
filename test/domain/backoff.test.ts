import { describe, expect, it } from 'vitest';
import { nextAttemptDelayMs } from '../../src/domain/backoff.ts';

const SCHEDULE = [60, 300, 900, 3600, 14400, 28800]; // 1m, 5m, 15m, 1h, 4h, 8h
const middle = () => 0.5; // no jitter: 1 + (0.5 * 0.4 - 0.2) = 1

describe('nextAttemptDelayMs', () => {
  it('follows the schedule: the delay after attempt n is step n', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => nextAttemptDelayMs(n, SCHEDULE, middle))).toEqual([
      60_000, 300_000, 900_000, 3_600_000, 14_400_000, 28_800_000,
    ]);
  });

  it('repeats the last step once the schedule runs out', () => {
    expect(nextAttemptDelayMs(7, SCHEDULE, middle)).toBe(28_800_000);
    expect(nextAttemptDelayMs(100, SCHEDULE, middle)).toBe(28_800_000);
  });

  it('treats attempt 0 like the first', () => {
    expect(nextAttemptDelayMs(0, SCHEDULE, middle)).toBe(60_000);
  });

  it('jitters by at most ±20 %, across the whole range', () => {
    expect(nextAttemptDelayMs(1, SCHEDULE, () => 0)).toBe(48_000);
    expect(nextAttemptDelayMs(1, SCHEDULE, () => 0.999999)).toBeCloseTo(72_000, -1);
    const seen = Array.from({ length: 2000 }, () => nextAttemptDelayMs(2, SCHEDULE));
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(240_000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(360_000);
    // Spread out, not a constant: retries of one outage do not arrive together.
    expect(new Set(seen).size).toBeGreaterThan(1000);
    expect(Math.max(...seen) - Math.min(...seen)).toBeGreaterThan(100_000);
  });

  it('handles sub-second steps (test schedules like 200ms) and never returns less than 1 ms', () => {
    expect(nextAttemptDelayMs(1, [0.2], middle)).toBe(200);
    expect(nextAttemptDelayMs(1, [0], () => 0)).toBe(1);
  });

  it('falls back to a minute when the schedule is empty', () => {
    expect(nextAttemptDelayMs(3, [], middle)).toBe(60_000);
  });
});
