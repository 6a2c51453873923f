// Group commit: writes that arrive while a transaction is being committed wait and then share the
// next transaction, so a burst of accepts pays for one fsync instead of one each. A unit of work
// that throws is retried alone in its own transaction, so one bad request never fails the others.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class CommitBatcher {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 256,
  ) {}

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
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
    if (batch.length === 1) return this.commitAlone(batch[0]!);
    let results: unknown[];
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const item of batch) out.push(await item.work(trx));
        return out;
      });
    } catch {
      // Someone's work failed and rolled the shared transaction back: redo each alone.
      for (const item of batch) await this.commitAlone(item);
      return;
    }
    batch.forEach((item, i) => item.resolve(results[i]));
  }

  private async commitAlone(item: Pending): Promise<void> {
    try {
      item.resolve(await this.db.transaction().execute(item.work));
    } catch (error) {
      item.reject(error);
    }
  }
}
