// Whether the store is serving, as seen by the statements that ran: the first fault of an outage
// and the end of it are reported once each (a log line per failed statement would bury the log
// while the database restarts or the disk is full).
import { describeStoreFault, storeFault, type StoreFault } from './store-errors.ts';

export interface StoreHealthListener {
  /** The first statement of an outage failed. */
  unavailable(description: string, error: unknown): void;
  /** Statements succeed again after `downMs` milliseconds. */
  available(downMs: number): void;
}

export class StoreHealth {
  private downSince: number | null = null;
  private fault: StoreFault | null = null;

  constructor(private readonly listener: StoreHealthListener | null = null) {}

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
    this.downSince = Date.now();
    this.fault = fault;
    this.listener?.unavailable(describeStoreFault(error), error);
  }

  /**
   * A statement succeeded. `wrote`: it was a committed write (a COMMIT, or a write outside a
   * transaction). Reads often still work on a full disk, so they do not end a storage outage.
   */
  succeeded(wrote: boolean): void {
    if (this.downSince === null) return;
    if (this.fault === 'storage' && !wrote) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = null;
    this.fault = null;
    this.listener?.available(downMs);
  }
}
