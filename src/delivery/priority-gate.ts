// Admits at most `capacity` tasks at a time and lets the waiting ones in by priority (lower first),
// in arrival order within a priority. In front of the relay's connection pool it keeps the pool's
// own first-come queue empty, so a transactional message never waits behind bulk mail handed over
// earlier, only for the next connection to come free; in front of the worker's build step it lets
// an urgent message be built next.
export class PriorityGate {
  private running = 0;
  /** Waiting tasks per priority; priorities are few (0 transactional, 10 bulk), so a small sorted list. */
  private readonly waiting = new Map<number, Array<() => void>>();
  private priorities: number[] = [];

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`a gate needs room for at least one task, got ${capacity}`);
  }

  /** Tasks admitted right now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for room. */
  get queued(): number {
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  /** Runs `task` once there is room and no task of a more urgent (or the same, earlier) priority waits. */
  async run<T>(priority: number, task: () => Promise<T>): Promise<T> {
    if (this.running >= this.capacity || this.priorities.length > 0) await this.wait(priority);
    else this.running++;
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private wait(priority: number): Promise<void> {
    return new Promise((resolve) => {
      let queue = this.waiting.get(priority);
      if (!queue) {
        queue = [];
        this.waiting.set(priority, queue);
        this.priorities = [...this.waiting.keys()].sort((a, b) => a - b);
      }
      queue.push(resolve);
      // Room may be free already (the queue was only non-empty because of this very call).
      this.admit();
    });
  }

  private release(): void {
    this.running--;
    this.admit();
  }

  /** Hands free room to the most urgent waiting tasks; the slot passes straight to them. */
  private admit(): void {
    while (this.running < this.capacity && this.priorities.length > 0) {
      const priority = this.priorities[0];
      const queue = this.waiting.get(priority)!;
      const next = queue.shift()!;
      if (queue.length === 0) {
        this.waiting.delete(priority);
        this.priorities.shift();
      }
      this.running++;
      next();
    }
  }
}
