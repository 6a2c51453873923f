// When to try a deferred message again: the configured schedule (1m, 5m, 15m, 1h, 4h, 8h …,
// the last step repeating), each delay with ±20 % jitter so retries of one outage spread out.
const DEFAULT_STEP_SECONDS = 60;

/** `attempts` counts the attempt that just failed (1 after the first), as the outbox row does. */
export function nextAttemptDelayMs(attempts: number, scheduleSeconds: number[], random = Math.random): number {
  const index = Math.min(Math.max(attempts - 1, 0), scheduleSeconds.length - 1);
  const base = (scheduleSeconds[index] ?? DEFAULT_STEP_SECONDS) * 1000;
  const jitter = 1 + (random() * 0.4 - 0.2);
  return Math.max(1, Math.round(base * jitter));
}
