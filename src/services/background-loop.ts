// The loop a background worker runs (delivery worker, mailing fan-out): a turn, then a rest that
// wake() cuts short (an accept in this process, a slot coming free), so work is picked up at once
// rather than at the next poll. A turn that fails because the store is unavailable pauses the loop
// (StoreOutage: a growing wait, one log line); any other error is logged and the loop rests for its
// usual poll. It lives in services so that every layer that runs a loop may import it.
import type { Logger } from 'pino';
import type { StoreOutage } from './store-outage.ts';

export interface LoopOptions {
  /** One turn; resolves to how long to rest before the next one, or null: go round again at once. */
  turn: () => Promise<number | null>;
  outage: StoreOutage;
  log: Logger;
  /** The log message for a turn that failed for another reason than an outage. */
  errorMessage: string;
  /** How long to rest after such a turn. */
  errorRestMs: () => number;
}

export class BackgroundLoop {
  private running = false;
  private wakeUp: (() => void) | null = null;
  private wokenDuringTurn = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LoopOptions) {}

  /** Started and not stopping. */
  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    this.running = true;
    this.done = this.run();
  }

  /**
   * Ends the rest in progress; during a turn, the rest that follows it is skipped instead (a turn
   * may have looked for work before the news of it arrived: waiting a whole poll then would lose it).
   */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenDuringTurn = true;
  }

  /** Lets the turn in progress finish and ends the loop. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.done;
  }

  private async run(): Promise<void> {
    const { turn, outage, log } = this.opts;
    while (this.running) {
      try {
        const restMs = await turn();
        if (restMs !== null) await this.rest(restMs);
      } catch (error) {
        if (outage.failed(error)) {
          await this.rest(outage.retryDelayMs());
          continue;
        }
        log.error({ err: error }, this.opts.errorMessage);
        await this.rest(this.opts.errorRestMs());
      }
    }
  }

  private rest(ms: number): Promise<void> {
    // Stopped, or woken, while a turn was in progress (its wake found no rest to cut short): no rest.
    if (!this.running || this.wokenDuringTurn) {
      this.wokenDuringTurn = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // However the rest ends (its timer, a wake), wakeUp is cleared: a wake during the next turn
      // must find no rest and be kept, not cut short a rest that is already over.
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
