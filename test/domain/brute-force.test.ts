import { describe, expect, it } from 'vitest';
import { LOCK_CAP_MS, LOCK_SURFACES, lockAfterFailure, lockKey } from '../../src/domain/brute-force.ts';

describe('brute-force lock schedule', () => {
  it('follows the spec: 5 → 30 s, 3 more tries, 8 → 60 s, 9 → 120 s, 10 → 5 min, 11 → 10 min, then +5 min each', () => {
    const seconds = Array.from({ length: 15 }, (_, i) => lockAfterFailure(i + 1) / 1000);
    expect(seconds).toEqual([0, 0, 0, 0, 30, 0, 0, 60, 120, 300, 600, 900, 1200, 1500, 1800]);
  });

  it('never locks for more than an hour', () => {
    expect(lockAfterFailure(21)).toBe(LOCK_CAP_MS);
    expect(lockAfterFailure(22)).toBe(LOCK_CAP_MS);
    expect(lockAfterFailure(1000)).toBe(LOCK_CAP_MS);
    expect(LOCK_CAP_MS).toBe(60 * 60 * 1000);
  });

  it('keeps each surface on its own counter', () => {
    const keys = LOCK_SURFACES.map((s) => lockKey(s, '203.0.113.7'));
    expect(new Set(keys).size).toBe(LOCK_SURFACES.length);
  });
});
