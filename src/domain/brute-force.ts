// The brute-force lock schedule of the marketing spec, per client IP and counted over 60 minutes:
// 5 failures lock for 30 s, then 3 more tries; the 8th locks 60 s, the 9th 120 s, the 10th 5 min,
// the 11th 10 min, and every further failure 5 minutes more, up to one hour: a lock never lasts
// longer than LOCK_CAP_MS, so a shared address (an office NAT, a CI runner) is never shut out for
// the rest of the day by somebody else's typos. The count starts again once 60 minutes pass
// without a failure.
//
// Each surface counts and locks on its own: wrong keys on /v1 never lock /api/v1 or SMTP, and the
// other way round. Adding a surface is adding its name to LOCK_SURFACES.

export const LOCK_SURFACES = ['v1', 'api', 'smtp', 'dashboard'] as const;
export type LockSurface = (typeof LOCK_SURFACES)[number];

export const FAILURE_WINDOW_MS = 60 * 60 * 1000;

/** The longest lock any number of failures earns. */
export const LOCK_CAP_MS = 60 * 60 * 1000;

/** The key a surface's failures and lock for one client IP are kept under in the limit store. */
export function lockKey(surface: LockSurface, ip: string): string {
  return `${surface}:${ip}`;
}

/** How long (ms) the client is locked right after its `failures`-th failure in the window. */
export function lockAfterFailure(failures: number): number {
  const s = 1000;
  if (failures < 5) return 0;
  if (failures === 5) return 30 * s;
  if (failures < 8) return 0; // the "3 more tries" after the first lock
  if (failures === 8) return 60 * s;
  if (failures === 9) return 120 * s;
  if (failures === 10) return 5 * 60 * s;
  return Math.min(LOCK_CAP_MS, (10 + 5 * (failures - 11)) * 60 * s);
}
