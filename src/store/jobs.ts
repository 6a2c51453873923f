// Background jobs (CSV imports): created queued, claimed by one runner, progress written with each
// batch, finished or failed. A runner owns a job while `payload` is the text it last wrote: every
// progress write is conditional on it, so a runner that lost the job (it stalled and another one
// took over) cannot write over the new owner's progress.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, JobsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type JobRow = Selectable<JobsTable>;

export async function insertJob(
  db: Db,
  job: { accountId: string; type: string; payload: string; now: number },
): Promise<JobRow> {
  const row = await db
    .insertInto('jobs')
    .values({
      account_id: job.accountId,
      type: job.type,
      status: 'queued',
      total: null,
      processed: 0,
      created: 0,
      updated: 0,
      failed: 0,
      payload: job.payload,
      errors: '[]',
      created_at: job.now,
      updated_at: job.now,
      finished_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...row, id: Number(row.id) };
}

export async function findJob(db: Db, accountId: string, id: number): Promise<JobRow | undefined> {
  const row = await db
    .selectFrom('jobs')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && { ...row, id: Number(row.id) };
}

/** Jobs of a type a runner may take: queued, or running without progress since `staleBefore`. */
export async function claimableJobs(db: Db, type: string, staleBefore: number, limit: number): Promise<JobRow[]> {
  const rows = await db
    .selectFrom('jobs')
    .selectAll()
    .where('type', '=', type)
    .where((eb) =>
      eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('updated_at', '<', staleBefore)])]),
    )
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Takes the job if it is still as `seen` (queued, or stale and unchanged); true when it is ours now. */
export async function claimJob(db: Db, seen: JobRow, payload: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ status: 'running', payload, updated_at: now })
    .where('id', '=', seen.id)
    .where('status', '=', seen.status)
    .where('updated_at', '=', seen.updated_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface JobProgress {
  processed: number;
  created: number;
  updated: number;
  failed: number;
  errors: string; // JSON
  payload: string;
}

/** Writes progress if the runner still owns the job (its payload is `ownPayload`); false when it lost it. */
export async function writeJobProgress(
  db: Db,
  id: number,
  ownPayload: string,
  progress: JobProgress,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ ...progress, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('payload', '=', ownPayload)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function finishJob(
  db: Db,
  id: number,
  ownPayload: string,
  outcome: { status: 'completed' | 'failed'; total: number | null; errors: string },
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ status: outcome.status, total: outcome.total, errors: outcome.errors, updated_at: now, finished_at: now })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('payload', '=', ownPayload)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
