// Whether the store is serving, as seen by the statements that ran: the first fault of an outage
// and the end of it are reported once each (a log line per failed statement would bury the log
// while the database restarts or the disk is full).
// When the pool's connections are terminated, their failures arrive one by one over a few
// milliseconds, between successes on fresh connections; on a full disk, reads and empty commits
// succeed between failed writes. A fault within a second of the last recovery belongs to the same
// outage and reports nothing (nor does its end).
import { describeStoreFault, storeFault, type StoreFault } from './store-errors.ts';

export interface StoreHealthListener {
  /** The first statement of an outage failed. */
  unavailable(description: string, fault: StoreFault, error: unknown): void;
  /** Statements succeed again after `downMs` milliseconds. */
  available(downMs: number): void;
}

const SAME_OUTAGE_MS = 1000;

export class StoreHealth {
  private downSince: number | null = null;
  private fault: StoreFault | null = null;
  private lastRecovery = -Infinity;
  /** This outage was not reported (it continues one that just ended), so its end is not either. */
  private quiet = false;

  constructor(
    private readonly listener: StoreHealthListener | null = null,
    private readonly clock: () => number = Date.now,
  ) {}

  get available(): boolean {
    return this.downSince === null;
  }

  failed(error: unknown): void {
    const fault = storeFault(error);
    if (fault !== 'connection' && fault !== 'storage') return;
    if (this.downSince !== null) {
      // A store that cannot write may also have lost a connection; only a write ends that outage.
      if (fault === 'storage') this.fault = fault;
      return;
    }
    const now = this.clock();
    this.downSince = now;
    this.fault = fault;
    this.quiet = now - this.lastRecovery < SAME_OUTAGE_MS;
    if (!this.quiet) this.listener?.unavailable(describeStoreFault(error), fault, error);
  }

  /**
   * A statement succeeded. `wrote`: rows were changed and committed (a COMMIT after changes, or a
   * change outside a transaction). Reads, and commits that changed nothing, often still work on a
   * full disk, so they do not end a storage outage.
   */
  succeeded(wrote: boolean): void {
    if (this.downSince === null) return;
    if (this.fault === 'storage' && !wrote) return;
    const now = this.clock();
    const downMs = now - this.downSince;
    this.downSince = null;
    this.fault = null;
    this.lastRecovery = now;
    if (!this.quiet) this.listener?.available(downMs);
  }
}
