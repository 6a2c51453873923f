// The commit of an accepted SMTP submission: its outbox rows planned (suppressed recipients
// settled) and written with the transmission, its MIME, events, counters and the quota, in one
// group commit. It is plain data, so that it can run in this thread or, on SQLite, in the
// submission commit thread (submission-commits.ts), whose FULL commit (an fsync) and inserts then
// stay off the event loop that speaks SMTP.
import type { Context } from '../context.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { commitTransmission, planOutbox, type OutboxPlan } from './transmission-commit.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';

export interface SubmissionCommit {
  key: Pick<ApiKeyInfo, 'id' | 'accountId'>;
  plan: OutboxPlan;
  content: TransmissionContent;
  /** The message as submitted (Buffer here; a Uint8Array once it has crossed to a thread). */
  mime: Uint8Array;
}

/** Where submissions are committed when not in this thread (the context's `submissionCommits`). */
export interface SubmissionCommitter {
  commit(job: SubmissionCommit): Promise<void>;
}

/** Commits `job` in ctx's own store and batcher; resolves once it is durable. */
export async function commitSubmissionHere(ctx: Context, job: SubmissionCommit): Promise<void> {
  const { plan } = job;
  const { rows, events } = await planOutbox(ctx, plan);
  const mime = Buffer.isBuffer(job.mime)
    ? job.mime
    : Buffer.from(job.mime.buffer, job.mime.byteOffset, job.mime.byteLength);
  await ctx.batcher.run((trx, bulk) =>
    commitTransmission(ctx, job.key, trx, bulk, {
      transmissionId: plan.transmissionId,
      content: job.content,
      rows,
      events,
      sendAt: null,
      now: plan.now,
      mime,
    }),
  );
}

/** Commits `job` where this process commits submissions: its commit thread if it has one. */
export function commitSubmission(ctx: Context, job: SubmissionCommit): Promise<void> {
  return ctx.submissionCommits ? ctx.submissionCommits.commit(job) : commitSubmissionHere(ctx, job);
}
