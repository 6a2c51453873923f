// How a background loop (delivery worker, mailing fan-out, webhook dispatcher) lives through an
// outage of the store: a turn that fails because the database is unreachable or cannot write
// pauses the loop, which tries again after a growing wait (up to a few seconds) instead of its
// usual poll, and resumes on its own when a turn succeeds. One log line when it pauses and one
// when it resumes, none per attempt in between.
import type { Logger } from 'pino';
import { describeStoreFault, isStoreUnavailable } from '../store/store-errors.ts';
import { backoffDelayMs } from '../store/retry.ts';

const PAUSE_BACKOFF = { baseDelayMs: 100, maxDelayMs: 5000 };

export class StoreOutage {
  private pausedSince: number | null = null;
  private failures = 0;

  constructor(
    private readonly log: Logger,
    /** What pauses, for the log: "delivery", "mailing fan-out", "webhook delivery". */
    private readonly what: string,
  ) {}

  get paused(): boolean {
    return this.pausedSince !== null;
  }

  /**
   * Whether `error` means the store is unavailable. If so the loop is (or stays) paused: the caller
   * waits `retryDelayMs()` and tries again, and logs nothing. Other errors are the caller's to log.
   */
  failed(error: unknown): boolean {
    if (!isStoreUnavailable(error)) return false;
    this.failures++;
    if (this.pausedSince === null) {
      this.pausedSince = Date.now();
      this.log.warn(`${this.what} paused: ${describeStoreFault(error)}; it resumes on its own`);
    }
    return true;
  }

  /** How long to wait before the next try while paused (grows with each failed try). */
  retryDelayMs(): number {
    return backoffDelayMs(PAUSE_BACKOFF, Math.max(1, this.failures));
  }

  /** A turn succeeded; true when that ended a pause. */
  succeeded(): boolean {
    if (this.pausedSince === null) return false;
    const pausedMs = Date.now() - this.pausedSince;
    this.pausedSince = null;
    this.failures = 0;
    this.log.info({ pausedMs }, `${this.what} resumed`);
    return true;
  }
}
