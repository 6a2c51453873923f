// The event loop's side of the submission commit thread (submission-commit-thread.ts): hands each
// accepted SMTP submission to the thread and resolves when the thread has committed it. On SQLite a
// FULL commit is an fsync that would otherwise hold the event loop (and every SMTP session on it)
// for milliseconds per batch; with the thread, the loop keeps speaking SMTP while a batch is
// written and flushed on the other core.
//
// A thread that dies (crash, out of memory) fails the commits it held: their clients get a 451 and
// send again, and nothing half-done is left (a batch is one transaction). The next commit starts a
// new thread.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { threadEntry } from '../thread-entry.ts';
import { ServiceError } from './errors.ts';
import type { SubmissionCommit, SubmissionCommitter } from './submission-commit.ts';
import type {
  CommitFailure,
  CommitThreadInit,
  FromCommitThread,
  ToCommitThread,
} from './submission-commit-protocol.ts';

const THREAD_HEAP_MB = 128;

interface Pending {
  /** The thread that holds it. */
  worker: Worker;
  resolve(): void;
  reject(error: Error): void;
}

export class SubmissionCommitThread implements SubmissionCommitter {
  private worker: Worker | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(private readonly opts: { config: Config; secret: string; log: Logger }) {}

  /** Commits waiting for the thread's answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Starts the thread now rather than at the first commit (its modules load meanwhile). */
  start(): void {
    this.worker ??= this.startThread();
  }

  commit(job: SubmissionCommit): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the submission commit thread is closing'));
    const worker = (this.worker ??= this.startThread());
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      const message: ToCommitThread = { type: 'commit', id, job };
      worker.postMessage(message);
    });
  }

  /** Waits for the commits in flight, then closes the thread's connection and ends it. */
  close(): Promise<void> {
    this.closing ??= this.closeThread();
    return this.closing;
  }

  private async closeThread(): Promise<void> {
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (message: FromCommitThread) => {
        if (message.type === 'closed') void worker.terminate();
      });
      const message: ToCommitThread = { type: 'close' };
      worker.postMessage(message);
    });
  }

  private startThread(): Worker {
    const init: CommitThreadInit = { config: this.opts.config, secret: this.opts.secret };
    const worker = new Worker(threadEntry('services/submission-commit-thread'), {
      workerData: init,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
      stdin: false,
    });
    worker.on('message', (message: FromCommitThread) => {
      if (message.type === 'closed') return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.type === 'committed') waiting.resolve();
      else waiting.reject(errorOf(message.failure));
      this.checkDrained();
    });
    worker.on('error', (error) => this.died(worker, error));
    worker.on('exit', (code) => this.died(worker, new Error(`the submission commit thread exited (code ${code})`)));
    return worker;
  }

  /** The thread is gone: what it held fails (not committed: its batch was one transaction). */
  private died(worker: Worker, error: Error): void {
    if (this.worker === worker) this.worker = null;
    const lost = [...this.pending].filter(([, waiting]) => waiting.worker === worker);
    if (lost.length === 0) return; // a thread closed on purpose, or already reported by 'error'
    this.opts.log.error({ err: error, commits: lost.length }, 'the submission commit thread died');
    for (const [id, waiting] of lost) {
      this.pending.delete(id);
      waiting.reject(error);
    }
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.pending.size === 0 && this.drained) {
      this.drained();
      this.drained = null;
    }
  }
}

function errorOf(failure: CommitFailure): Error {
  if (failure.service) return new ServiceError(failure.service.reason, failure.service.detail, failure.service.field);
  return Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {});
}
