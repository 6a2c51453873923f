// A shutdown runs its steps in order (listeners first, then the worker, then the store) and waits for
// each: the worker finishes the messages in flight, which can take as long as an SMTP timeout. A
// step that is slow to finish is named in the log every 10 s, so an operator (or a test
// whose teardown timed out) can see what the process is still waiting for. A step that fails does
// not end the shutdown: the steps after it (the worker finishing its messages, the store closing
// cleanly) matter more than the one that broke.
import type { Logger } from 'pino';

export class ShutdownSteps {
  /** The step being waited for; null before and after. */
  current: string | null = null;

  constructor(
    private readonly log: Logger,
    private readonly slowStepMs = 10_000,
  ) {}

  /**
   * Runs every step in order, the next one also when one throws (that error is logged with its
   * step); once all have run, nothing is current and the first error (or an AggregateError of
   * several) is thrown.
   */
  async all(steps: ReadonlyArray<readonly [string, () => Promise<unknown> | undefined]>): Promise<void> {
    const failures: unknown[] = [];
    for (const [name, run] of steps) {
      try {
        await this.step(name, run);
      } catch (error) {
        failures.push(error);
        this.log.error({ err: error, step: name }, 'shutdown: a step failed; going on with the next');
      }
    }
    this.current = null;
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} shutdown steps failed`);
  }

  async step(name: string, run: () => Promise<unknown> | undefined): Promise<void> {
    this.current = name;
    const started = Date.now();
    const watch = setInterval(
      () => this.log.warn({ step: name, waitingMs: Date.now() - started }, 'shutdown: still waiting'),
      this.slowStepMs,
    );
    watch.unref();
    try {
      await run();
    } finally {
      clearInterval(watch);
    }
  }
}
