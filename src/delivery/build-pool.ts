// The build threads: a pool of worker_threads that render, compose and sign messages, and check a
// send's templates at accept, so the event loop only claims, writes to sockets and records.
// - Messages are fed in batches (urgent ones first); each source is sent to a thread once and the
//   thread is told to forget it when the pool's record of that thread's sources is full.
// - Each message has a time limit (POSTHORN_BUILD_TIMEOUT_MS): a build past it is stopped by
//   terminating its thread, which is replaced; that message fails with a clear reason and the rest
//   of its batch is built by the next free thread. A thread that dies (out of memory, say) is
//   handled the same way. An accept-time check is stopped the same way past its budget.
// - Each thread's heap is capped (THREAD_HEAP_MB): a thread costs some 20–40 MB of RSS.
// - Threads run dist/delivery/build-thread.js in production, build-thread.ts through tsx when
//   Posthorn runs from its sources (tests, benchmarks).
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.ts';
import type { Logger } from 'pino';
import type { MessagesTable } from '../store/schema.ts';
import type { RenderLimits } from '../domain/render.ts';
import type {
  PersonalisationChecker,
  PersonalisationJob,
  PersonalisationResult,
} from '../domain/personalisation-check.ts';
import type { BuildItem, BuiltMessage, FromThread, SourceSpec, ThreadInit, ToThread } from './build-protocol.ts';

/** Messages sent to a thread at once: enough to amortise the messaging, few enough to share work out. */
const BATCH = 16;
/** Sources a thread keeps at most (the pool tells it which to forget). */
const SOURCES_PER_THREAD = 200;
const THREAD_HEAP_MB = 96;
/** Messages of this priority or lower are urgent (transactional): built first. */
const URGENT_PRIORITY = 0;
/** Extra time an accept-time check gets before its thread is stopped (Liquid's own limit stops it first). */
const CHECK_GRACE_MS = 250;

export interface BuildPoolOptions {
  threads: number;
  buildTimeoutMs: number;
  limits: RenderLimits;
  tracking: { secret: string; publicUrl: string } | null;
  log: Logger;
}

interface BuildRequest {
  key: string;
  spec: SourceSpec;
  item: BuildItem;
  priority: number;
  resolve(built: BuiltMessage): void;
  reject(error: Error): void;
}

interface CheckRequest {
  job: PersonalisationJob;
  resolve(result: PersonalisationResult): void;
  reject(error: Error): void;
}

type Work =
  | { kind: 'build'; requests: BuildRequest[]; done: number; progressAt: number }
  | { kind: 'check'; request: CheckRequest; deadline: number };

class BuildThread {
  readonly worker: Worker;
  /** Source keys this thread holds, oldest first. */
  readonly known = new Map<string, true>();
  /** Keys to tell the thread to forget with its next batch. */
  forget: string[] = [];
  work: Work | null = null;
  /** Set when the watchdog found it overdue: confirmed (and stopped) after pending answers are read. */
  suspect = false;
  /** Loaded and listening: no work (and no time limit) before that. */
  ready = false;

  constructor(init: ThreadInit) {
    this.worker = startWorker(init);
  }
}

export class BuildPool implements PersonalisationChecker {
  private readonly threads: BuildThread[] = [];
  private readonly urgent: BuildRequest[] = [];
  private readonly bulk: BuildRequest[] = [];
  private readonly checks: CheckRequest[] = [];
  private readonly init: ThreadInit;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;
  /** Threads replaced after a time limit or a crash (for tests and logs). */
  replaced = 0;

  constructor(private readonly opts: BuildPoolOptions) {
    this.init = { limits: opts.limits, tracking: opts.tracking };
  }

  /** Starts the threads now rather than with the first work (they take a moment to load). */
  start(): void {
    while (!this.closed && this.threads.length < this.opts.threads) this.startThread();
  }

  /** Builds waiting or in progress the pool can usefully hold (the worker lets this many in). */
  get capacity(): number {
    return this.opts.threads * BATCH * 2;
  }

  build(key: string, spec: SourceSpec, row: MessagesTable, now: number, priority: number): Promise<BuiltMessage> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the build pool is closed'));
        return;
      }
      const request = { key, spec, item: { key, row, now }, priority, resolve, reject };
      (priority <= URGENT_PRIORITY ? this.urgent : this.bulk).push(request);
      this.dispatch();
    });
  }

  /** Checks a send's templates against its recipients' data in a thread, within job.budgetMs. */
  check(job: PersonalisationJob): Promise<PersonalisationResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the build pool is closed'));
        return;
      }
      this.checks.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const error = new Error('the build pool is closed');
    for (const r of [...this.urgent.splice(0), ...this.bulk.splice(0), ...this.checks.splice(0)]) r.reject(error);
    const threads = this.threads.splice(0);
    for (const t of threads) this.abandon(t, error);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.checks.length + this.urgent.length + this.bulk.length > 0) {
      const thread = this.idleThread();
      if (!thread) return;
      const check = this.checks.shift();
      if (check) {
        thread.work = { kind: 'check', request: check, deadline: Date.now() + check.job.budgetMs + CHECK_GRACE_MS };
        this.send(thread, { type: 'check', job: check.job });
        continue;
      }
      const requests = this.urgent.splice(0, BATCH);
      if (requests.length < BATCH) requests.push(...this.bulk.splice(0, BATCH - requests.length));
      const sources: Array<[string, SourceSpec]> = [];
      for (const r of requests) {
        if (thread.known.has(r.key)) {
          thread.known.delete(r.key); // re-insert: Map order is the recency order
        } else {
          if (!sources.some(([key]) => key === r.key)) sources.push([r.key, r.spec]);
          if (thread.known.size >= SOURCES_PER_THREAD) {
            const oldest = thread.known.keys().next().value!;
            thread.known.delete(oldest);
            thread.forget.push(oldest);
          }
        }
        thread.known.set(r.key, true);
      }
      thread.work = { kind: 'build', requests, done: 0, progressAt: Date.now() };
      const forget = thread.forget;
      thread.forget = [];
      this.send(thread, { type: 'build', forget, sources, items: requests.map((r) => r.item) });
    }
  }

  /** A ready thread with nothing to do; all threads are started with the first work. */
  private idleThread(): BuildThread | null {
    this.start();
    return this.threads.find((t) => t.ready && t.work === null) ?? null;
  }

  private startThread(): void {
    const thread = new BuildThread(this.init);
    this.threads.push(thread);
    thread.worker.on('message', (message: FromThread) => {
      if (message.type !== 'ready') {
        this.answered(thread, message);
        return;
      }
      thread.ready = true;
      this.dispatch();
    });
    thread.worker.on('error', (error) => this.died(thread, error));
    thread.worker.on('exit', (code) => this.died(thread, new Error(`the build thread exited (code ${code})`)));
    this.startWatchdog();
  }

  private send(thread: BuildThread, message: ToThread): void {
    thread.suspect = false;
    thread.worker.postMessage(message);
  }

  private answered(thread: BuildThread, message: FromThread): void {
    const work = thread.work;
    if (!work) return;
    thread.suspect = false;
    if (work.kind === 'check') {
      thread.work = null;
      if (message.type === 'checked') work.request.resolve(message.result);
      else work.request.reject(new Error('unexpected answer from a build thread'));
    } else {
      const request = work.requests[work.done++];
      work.progressAt = Date.now();
      if (message.type === 'built') {
        const raw = Buffer.from(message.raw.buffer, message.raw.byteOffset, message.raw.byteLength);
        request.resolve({ ...message, raw });
      } else {
        request.reject(new Error(message.type === 'failed' ? message.message : 'unexpected answer'));
      }
      if (work.done === work.requests.length) thread.work = null;
    }
    if (thread.work === null) this.dispatch();
  }

  /** The thread is gone (crashed, or terminated by the watchdog): its current message fails, the rest wait again. */
  private died(thread: BuildThread, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return; // already handled (an error is followed by an exit)
    this.threads.splice(index, 1);
    this.replaced++;
    if (!this.closed) this.opts.log.warn({ err: error }, 'build thread replaced');
    this.abandon(thread, error);
    this.dispatch();
  }

  private abandon(thread: BuildThread, error: Error): void {
    const work = thread.work;
    thread.work = null;
    if (!work) return;
    if (work.kind === 'check') {
      // Past its budget, or the thread died rendering it (out of memory, say): the templates' doing.
      if (this.closed) work.request.reject(error);
      else if (/took longer/.test(error.message)) work.request.resolve({ ok: false, reason: 'budget', index: null });
      else
        work.request.resolve({
          ok: false,
          reason: 'template',
          index: null,
          part: 'bodyHtml',
          message: `rendering the templates for the recipients failed: ${error.message}`,
        });
      return;
    }
    work.requests[work.done]?.reject(error);
    const rest = work.requests.slice(work.done + 1);
    if (this.closed) for (const r of rest) r.reject(error);
    else this.urgent.unshift(...rest.filter((r) => r.priority <= URGENT_PRIORITY));
    if (!this.closed) this.bulk.unshift(...rest.filter((r) => r.priority > URGENT_PRIORITY));
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    const every = Math.max(10, Math.min(250, Math.floor(this.opts.buildTimeoutMs / 4)));
    this.watchdog = setInterval(() => this.lookForOverdue(), every);
    this.watchdog.unref();
  }

  private lookForOverdue(): void {
    let anySuspect = false;
    for (const thread of this.threads) {
      if (this.overdue(thread)) {
        thread.suspect = true;
        anySuspect = true;
      }
    }
    if (!anySuspect) return;
    // After the answers already waiting are read (a stalled event loop must not make a thread
    // look overdue): setImmediate runs after this turn's I/O callbacks.
    setImmediate(() => {
      for (const thread of [...this.threads]) {
        if (!thread.suspect || !this.overdue(thread)) continue;
        const work = thread.work!;
        const error =
          work.kind === 'check'
            ? new Error(`checking the templates took longer than the budget of ${work.request.job.budgetMs} ms`)
            : new Error(`building the message took longer than ${this.opts.buildTimeoutMs} ms and was stopped`);
        this.died(thread, error);
        void thread.worker.terminate();
      }
    });
  }

  private overdue(thread: BuildThread): boolean {
    const work = thread.work;
    if (!work) return false;
    const now = Date.now();
    return work.kind === 'check' ? now > work.deadline : now - work.progressAt > this.opts.buildTimeoutMs;
  }
}

function startWorker(init: ThreadInit): Worker {
  return new Worker(threadEntry('delivery/build-thread'), {
    workerData: init,
    resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    // The thread's logs and errors come back as events; it has no use for the parent's stdin.
    stdin: false,
  });
}
