// Group commit: writes that arrive while a transaction is being committed wait and then share the
// next transaction, so a burst of accepts pays for one fsync instead of one each. A unit of work
// that throws is retried alone in its own transaction, so one bad request never fails the others.
//
// On SQLite with synchronous=FULL a commit is an fsync (~5 ms here) that blocks the event loop, so
// the first write after a commit waits a short window for the requests still on their way (like
// PostgreSQL's commit_delay): with 64 clients that turns 64 fsyncs into about one.
//
// Rows that a unit of work only appends (no read-back, no conflict handling) can be handed to the
// batch's BulkRows instead of inserted one statement per request: they are written as multi-row
// INSERTs once all the batch's work has run, just before the commit.
//
// Faults of the store itself (see store-errors.ts): a conflict or a connection lost before COMMIT
// was sent rolled the whole batch back, so the batch is run again as a whole, a few times with
// backoff. A connection lost during COMMIT leaves it unknown whether the batch committed: running
// it again could store every request twice, answering 200 could confirm what was lost, so every
// request of the batch fails (the surfaces answer 503 and the client retries, ideally with its
// Idempotency-Key). A store that cannot write (disk full) fails the batch the same way. No request
// in a failed batch is ever answered as accepted.
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { storeFault } from './store-errors.ts';
import { QUICK_RETRY, withRetry } from './retry.ts';

type Work<T> = (trx: Transaction<Database>, bulk: BulkRows) => Promise<T>;

/** Rows to append in the batch's transaction, grouped by table, in order. */
export class BulkRows {
  private tables = new Map<keyof Database, unknown[]>();
  private finishers = new Map<string, (trx: Transaction<Database>) => Promise<void>>();
  private committed: Array<() => void> = [];

  insert<T extends keyof Database>(table: T, rows: Insertable<Database[T]>[]): void {
    const list = this.tables.get(table) ?? [];
    for (const row of rows) list.push(row);
    this.tables.set(table, list);
  }

  /**
   * Work that runs once per batch after the rows are written (the first registration under a key
   * wins): what the batch's requests accumulated, e.g. event counters summed over the whole batch.
   */
  finishOnce(key: string, finish: (trx: Transaction<Database>) => Promise<void>): boolean {
    if (this.finishers.has(key)) return false;
    this.finishers.set(key, finish);
    return true;
  }

  /**
   * Runs `fn` once the batch's transaction has committed (never when it rolled back: a batch that is
   * run again gets a new BulkRows). For bookkeeping outside the database, e.g. metrics.
   */
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** Called by the batcher after the commit. */
  runAfterCommit(): void {
    for (const fn of this.committed.splice(0)) fn();
  }

  async flush(trx: Transaction<Database>): Promise<void> {
    for (const [table, rows] of this.tables) {
      // SQLite allows 32,766 bound parameters per statement: size chunks by the column count.
      const columns = Object.keys(rows[0] as object).length;
      const chunk = Math.max(1, Math.floor(30_000 / columns));
      for (let i = 0; i < rows.length; i += chunk) {
        await trx
          .insertInto(table)
          .values(rows.slice(i, i + chunk))
          .execute();
      }
    }
    this.tables.clear();
    for (const finish of this.finishers.values()) await finish(trx);
    this.finishers.clear();
  }
}

interface Pending {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class CommitBatcher {
  private queue: Pending[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    /**
     * `windowMs`: how long the first write of a batch waits for more (a timer, so ≥ 1 ms when set);
     * `immediate`: no timer, the batch is what arrived in the same turn of the event loop (a thread
     * that receives its work as messages gets everything queued during its last commit at once).
     */
    private readonly opts: { maxBatch?: number; windowMs?: number; immediate?: boolean } = {},
  ) {}

  private get maxBatch(): number {
    return this.opts.maxBatch ?? 256;
  }

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (this.flushing) return;
      if (this.queue.length >= this.maxBatch) this.flushNow();
      else if (!this.timer)
        this.timer = this.opts.immediate
          ? setImmediate(() => this.flushNow())
          : setTimeout(() => this.flushNow(), this.opts.windowMs ?? 0);
    });
  }

  private flushNow(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = null;
    if (!this.flushing) void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commitTogether(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commitTogether(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.commitAlone(batch[0]);
    let results: unknown[];
    try {
      results = await withRetry(() => this.commit(batch), QUICK_RETRY);
    } catch (error) {
      if (storeFault(error) !== null) {
        for (const item of batch) item.reject(error);
        return;
      }
      // Someone's work failed and rolled the shared transaction back: redo each alone.
      for (const item of batch) await this.commitAlone(item);
      return;
    }
    batch.forEach((item, i) => item.resolve(results[i]));
  }

  private async commitAlone(item: Pending): Promise<void> {
    try {
      const [result] = await withRetry(() => this.commit([item]), QUICK_RETRY);
      item.resolve(result);
    } catch (error) {
      item.reject(error);
    }
  }

  /** One transaction over the work of every item; their results in order. */
  private async commit(items: Pending[]): Promise<unknown[]> {
    const bulk = new BulkRows();
    const out = await this.db.transaction().execute(async (trx) => {
      const results: unknown[] = [];
      for (const item of items) results.push(await item.work(trx, bulk));
      await bulk.flush(trx);
      return results;
    });
    bulk.runAfterCommit();
    return out;
  }
}
