// Runs an operation again after a transient store fault, with bounded exponential backoff and
// jitter. Only for operations that are safe to run again (see isRetryableStoreError): whoever calls
// this decides that; the default test is the conservative one.
import { isRetryableStoreError } from './store-errors.ts';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait before the second try; doubled each time (plus up to 50 % jitter), never over maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up once this much time has passed since the first try, whatever `attempts` says. */
  deadlineMs?: number;
  /** Whether this error is worth another try (default: a conflict or a connection lost before COMMIT). */
  shouldRetry?: (error: unknown) => boolean;
  /** Called before each wait (for a log line or a counter). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops further tries early (shutdown). */
  giveUp?: () => boolean;
}

/** A few quick tries: a terminated backend or a deadlock clears within milliseconds. */
export const QUICK_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 25, maxDelayMs: 400 };

/** The wait before try `attempt + 1` (attempt counts from 1). */
export function backoffDelayMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, attempt: number): number {
  const plain = policy.baseDelayMs * 2 ** Math.min(30, attempt - 1);
  return Math.round(Math.min(policy.maxDelayMs, plain * (1 + Math.random() * 0.5)));
}

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy = QUICK_RETRY): Promise<T> {
  const started = Date.now();
  const shouldRetry = policy.shouldRetry ?? isRetryableStoreError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const delay = backoffDelayMs(policy, attempt);
      const outOfTime = policy.deadlineMs !== undefined && Date.now() - started + delay > policy.deadlineMs;
      if (attempt >= policy.attempts || outOfTime || policy.giveUp?.() || !shouldRetry(error)) throw error;
      policy.onRetry?.(error, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
