// A shutdown runs its steps in order (listeners first, then the worker, then the store) and waits for
// each: the worker finishes the messages in flight, which can take as long as an SMTP timeout. A
// step that is slow to finish is named in the log every 10 s, so an operator (or a test
// whose teardown timed out) can see what the process is still waiting for.
import type { Logger } from 'pino';

export class ShutdownSteps {
  /** The step being waited for; null before and after. */
  current: string | null = null;

  constructor(
    private readonly log: Logger,
    private readonly slowStepMs = 10_000,
  ) {}

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
