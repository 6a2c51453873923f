// The brute-force lock schedule of the marketing spec, per client IP and counted over 60 minutes:
// 5 failures lock for 30 s, then 3 more tries; the 8th locks 60 s, the 9th 120 s, the 10th 5 min,
// the 11th 10 min, and every further failure 5 minutes more. The count starts again once
// 60 minutes pass without a failure.

export const FAILURE_WINDOW_MS = 60 * 60 * 1000;

/** How long (ms) the client is locked right after its `failures`-th failure in the window. */
export function lockAfterFailure(failures: number): number {
  const s = 1000;
  if (failures < 5) return 0;
  if (failures === 5) return 30 * s;
  if (failures < 8) return 0; // the "3 more tries" after the first lock
  if (failures === 8) return 60 * s;
  if (failures === 9) return 120 * s;
  if (failures === 10) return 5 * 60 * s;
  return (10 + 5 * (failures - 11)) * 60 * s;
}
