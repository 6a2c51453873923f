// CSV subscriber imports as background jobs: the upload is saved as a file and a queued job; the
// runner reads the file as a stream and upserts 1,000 rows per transaction with the subscriber
// store's batched upsert. The job's counters are written in the same transaction as the rows they
// count, so a job taken over after a crash resumes exactly where the last commit left it.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { CsvError, CsvParser, type CsvRecord } from '../domain/csv.ts';
import { mapHeader, readRow, type ColumnSpec, type RowResult } from '../domain/subscriber-import-row.ts';
import type { AccountVocabulary, FieldErrors, SubscriberInput } from '../domain/subscriber-input.ts';
import { STATUS } from '../domain/subscriber-status.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { isStoreUnavailable } from '../store/store-errors.ts';
import { StoreOutage } from './store-outage.ts';
import {
  findSubscribersByEmails,
  upsertSubscribers,
  writeFieldValues,
  type FieldValueRow,
  type NewSubscriberRow,
  type SubscriberRow,
} from '../store/subscribers.ts';
import {
  dropFilterIndexes,
  hasBlacklist,
  importableFieldInfo,
  liveSubscriberCounts,
  missingFilterIndexes,
  refreshSubscriberStatistics,
  restoreFilterIndexes,
} from '../store/subscriber-import.ts';
import {
  claimJob,
  claimableJobs,
  finishJob,
  findJob,
  insertJob,
  writeJobProgress,
  type JobRow,
} from '../store/jobs.ts';

export const IMPORT_JOB_TYPE = 'subscriber_import';
export const IMPORT_BATCH_ROWS = 1000;
/**
 * Rows per transaction while the filter indexes are deferred: a row then costs about a quarter of
 * its usual time, so a batch holds the API up no longer than a normal one, and commits (each one
 * an fsync and a rewrite of the pages it touched) are four times fewer (200,000 rows: ~20 % less time).
 */
const DEFERRED_BATCH_ROWS = 4000;
export const MAX_RECORDED_ERRORS = 100;
/** A running job whose progress has not moved for this long is taken over by another runner. */
const STALE_AFTER_MS = 60_000;
const POLL_MS = 2000;
const READ_CHUNK_BYTES = 1 << 20;
const BLACKLISTED = 'The email is blacklisted.';
// Deferring the filter indexes (SQLite): see deferIndexes.
const DEFER_MIN_ROWS = 50_000;
const DEFER_MAX_OTHER_ROWS = 10_000;
/** Rows are estimated from bytes: a row of email and a few names is ~55 bytes; longer rows count fewer. */
const BYTES_PER_ROW_ESTIMATE = 64;

export interface ImportPayload {
  /** The uploaded file, relative to the imports directory. */
  file: string;
  bytes: number;
  /** Bytes of the file read when the last batch committed. */
  bytesRead: number;
  /** The runner that owns the job; changes with every take-over. */
  runner: string | null;
}

export interface RowError {
  /** The record's number in the file; the header is row 1. */
  row: number;
  email: string | null;
  errors: FieldErrors;
}

export function importsDir(ctx: Context): string {
  return path.join(ctx.config.dataDir, 'imports');
}

export function parsePayload(job: JobRow): ImportPayload {
  return JSON.parse(job.payload ?? '{}') as ImportPayload;
}

/** The first record of a CSV file; null when the file has none. */
async function readHeader(file: string): Promise<string[] | null> {
  const parser = new CsvParser({ maxFieldLength: 64 * 1024 });
  const out: CsvRecord[] = [];
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream) {
      parser.push(chunk as string, out);
      if (out.length > 0) return out[0].fields;
    }
    parser.end(out);
    return out[0]?.fields ?? null;
  } catch (err) {
    if (err instanceof CsvError)
      throw new ServiceError('invalid', `The header row cannot be read: ${err.message}.`, 'file');
    throw err;
  } finally {
    stream.destroy();
  }
}

async function checkHeader(ctx: Context, accountId: string, header: string[] | null): Promise<ColumnSpec[]> {
  if (!header)
    throw new ServiceError(
      'invalid',
      'The CSV file is empty; it needs a header row naming the columns (at least email).',
      'file',
    );
  const mapped = mapHeader(header, await importableFieldInfo(ctx.db, accountId));
  if (!mapped.ok)
    throw new ServiceError('invalid', `The header row is not usable: ${mapped.errors.join('; ')}.`, 'file');
  return mapped.columns;
}

/**
 * Creates the import job for a saved upload (`file` inside the imports directory), after checking
 * its header row so a wrong file is refused at once rather than failing later.
 */
export async function acceptImport(
  ctx: Context,
  accountId: string,
  upload: { file: string; bytes: number },
): Promise<JobRow> {
  try {
    await checkHeader(ctx, accountId, await readHeader(upload.file));
  } catch (err) {
    await fs.promises.rm(upload.file, { force: true });
    throw err;
  }
  const payload: ImportPayload = { file: path.basename(upload.file), bytes: upload.bytes, bytesRead: 0, runner: null };
  return insertJob(ctx.db, { accountId, type: IMPORT_JOB_TYPE, payload: JSON.stringify(payload), now: ctx.clock() });
}

export async function getJob(ctx: Context, accountId: string, id: number): Promise<JobRow> {
  const job = await findJob(ctx.db, accountId, id);
  if (!job) throw notFound('Job');
  return job;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Whether this import writes its rows without the list-filter indexes (SQLite only), which are
 * built at its end by one sort each: per row, 15 random B-tree inserts were most of an import's
 * time, and they slow further as the indexes outgrow the page cache. Lists stay correct meanwhile,
 * only slower: each filter walks the account's rows instead of an index. So it is done only where
 * that costs nobody else much and the rebuild is cheaper than the upkeep: the import is big
 * (≥ 50,000 rows estimated), it adds at least as many rows as the account already has (the rebuild
 * sorts the whole table), and the other accounts together hold ≤ 10,000 live subscribers (their
 * lists scan at most that). Typically: the first list loaded into an installation. Other writers
 * are unaffected (the unique email index stays); a crashed import's indexes are rebuilt by the
 * runner once it is idle, or at the end of the resumed import, which keeps deferring them.
 */
async function deferIndexes(ctx: Context, jobId: number, accountId: string, bytesLeft: number): Promise<boolean> {
  if (ctx.dialect !== 'sqlite') return false;
  if ((await missingFilterIndexes(ctx.db)).length > 0) return true; // a resumed import that deferred them
  const estimatedRows = Math.floor(bytesLeft / BYTES_PER_ROW_ESTIMATE);
  if (estimatedRows < DEFER_MIN_ROWS) return false;
  const live = await liveSubscriberCounts(ctx.db, accountId);
  if (live.others > DEFER_MAX_OTHER_ROWS || live.account > estimatedRows) return false;
  ctx.log.info({ jobId, estimatedRows, ...live }, 'subscriber import: filter indexes deferred to its end');
  await dropFilterIndexes(ctx.db);
  return true;
}

/** Builds the filter indexes an import deferred (a no-op when none is missing; SQLite only). */
export async function restoreDeferredIndexes(ctx: Context): Promise<void> {
  if (ctx.dialect !== 'sqlite') return;
  const started = ctx.clock();
  const built = await restoreFilterIndexes(ctx.db, yieldToEventLoop);
  if (built > 0) ctx.log.info({ built, ms: ctx.clock() - started }, 'subscriber filter indexes rebuilt');
}

/** The job was taken over by another runner (this one stalled); stop without writing anything. */
class LostJob extends Error {}

interface Pending {
  row: number;
  input: SubscriberInput;
}

interface Counters {
  processed: number;
  created: number;
  updated: number;
  failed: number;
  errors: RowError[];
}

/** The full row a subscriber gets: the existing one with the CSV's values over it, or a new one. */
function mergedRow(
  accountId: string,
  before: SubscriberRow | undefined,
  input: SubscriberInput,
  now: number,
): NewSubscriberRow {
  const t = input.text;
  const pick = <T>(value: T | undefined, old: T | null | undefined): T | null =>
    value !== undefined ? value : (old ?? null);
  return {
    account_id: accountId,
    email: input.email!,
    status: before?.status ?? STATUS.READY,
    status_addition: before ? before.status_addition : null,
    gender_id: pick(input.genderId, before?.gender_id),
    language_iso: pick(input.languageIso, before?.language_iso),
    title: pick(t.title, before?.title),
    firstname: pick(t.firstname, before?.firstname),
    lastname: pick(t.lastname, before?.lastname),
    company: pick(t.company, before?.company),
    street: pick(t.street, before?.street),
    postcode: pick(t.postcode, before?.postcode),
    city: pick(t.city, before?.city),
    phone_number: pick(t.phoneNumber, before?.phone_number),
    birthday: pick(input.birthday, before?.birthday),
    opt_in_comment: pick(t.optInComment, before?.opt_in_comment),
    opt_in_sent_at: before?.opt_in_sent_at ?? null,
    opt_in_confirmed_at: pick(input.optInConfirmedAt, before?.opt_in_confirmed_at),
    opt_in_ip: pick(input.optInIp, before?.opt_in_ip),
    reference: pick(t.reference, before?.reference),
    last_opened_at: before?.last_opened_at ?? null,
    last_clicked_at: before?.last_clicked_at ?? null,
    deleted_at: null,
    created_at: before?.created_at ?? now,
    updated_at: now,
  };
}

/** Runs one claimed import job to its end (or until `shouldStop`, leaving it to be resumed). */
async function runImport(ctx: Context, job: JobRow, ownPayload: string, shouldStop: () => boolean): Promise<void> {
  const accountId = job.account_id;
  let payload = JSON.parse(ownPayload) as ImportPayload;
  const file = path.join(importsDir(ctx), payload.file);
  const counters: Counters = {
    processed: job.processed,
    created: job.created,
    updated: job.updated,
    failed: job.failed,
    errors: JSON.parse(job.errors ?? '[]') as RowError[],
  };

  let deferred = false;
  const finish = async (status: 'completed' | 'failed', message?: string) => {
    // The job ends once lists are fast again.
    if (deferred) await restoreDeferredIndexes(ctx);
    if (message && counters.errors.length < MAX_RECORDED_ERRORS)
      counters.errors.push({ row: 0, email: null, errors: { file: [message] } });
    const owned = await finishJob(
      ctx.db,
      job.id,
      ownPayload,
      { status, total: status === 'completed' ? counters.processed : null, errors: JSON.stringify(counters.errors) },
      ctx.clock(),
    );
    // The file holds personal data: it goes once the job is done (but not from under a new owner).
    if (owned) await fs.promises.rm(file, { force: true });
  };

  if (!fs.existsSync(file)) return finish('failed', 'The uploaded file is gone; upload it again.');
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  let writing: Promise<void> = Promise.resolve();
  let recordNo = 0; // records read, the header included
  try {
    const parser = new CsvParser();
    const fields = await importableFieldInfo(ctx.db, accountId);
    const vocabulary: AccountVocabulary = {
      fieldTypes: new Map([...fields].map(([id, f]) => [id, f.type])),
      channelIds: new Set(),
    };
    deferred = await deferIndexes(ctx, job.id, accountId, payload.bytes - payload.bytesRead);
    let columns: ColumnSpec[] | null = null;
    let skip = counters.processed; // rows committed before a take-over
    let batch: Pending[] = [];
    let batchEmails = new Set<string>();
    let batchFailed: RowError[] = [];

    // Two-stage pipeline: while one batch is written, the next one is parsed. Batches commit in
    // file order, each after the one before (its counters and ownership build on that one's).
    let createdAtLastAnalyze = 0;
    const flush = async () => {
      if (batch.length === 0 && batchFailed.length === 0) return;
      const work = { rows: batch, failed: batchFailed, bytesRead: stream.bytesRead };
      batch = [];
      batchEmails = new Set();
      batchFailed = [];
      await writing;
      // better-sqlite3 works synchronously on the API's event loop: let waiting requests in
      // between batches, so an import never holds the API up for more than one batch.
      await yieldToEventLoop();
      // Each time the rows this job created double, the planner learns how big the table is now.
      if (counters.created - createdAtLastAnalyze >= Math.max(IMPORT_BATCH_ROWS, createdAtLastAnalyze)) {
        createdAtLastAnalyze = counters.created;
        await refreshSubscriberStatistics(ctx.db, ctx.dialect);
      }
      writing = writeBatch(
        ctx,
        job.id,
        accountId,
        ownPayload,
        { ...payload, bytesRead: work.bytesRead },
        counters,
        work.rows,
        work.failed,
      ).then((next) => {
        Object.assign(counters, next.counters);
        ownPayload = next.payload;
        payload = JSON.parse(ownPayload) as ImportPayload;
      });
      writing.catch(() => {}); // surfaces at the next await of `writing`
    };

    const take = async (record: CsvRecord) => {
      recordNo++;
      if (recordNo === 1) {
        const mapped = mapHeader(record.fields, fields);
        if (!mapped.ok)
          throw new ServiceError('invalid', `The header row is not usable: ${mapped.errors.join('; ')}.`, 'file');
        columns = mapped.columns;
        return;
      }
      if (skip > 0) {
        skip--;
        if (skip % IMPORT_BATCH_ROWS === 0) await yieldToEventLoop();
        return;
      }
      const result: RowResult = record.error
        ? { ok: false, errors: { row: [`The row is not valid CSV: ${record.error}.`] } }
        : readRow(record.fields, columns!, vocabulary);
      if (!result.ok) {
        const emailAt = columns!.findIndex((c) => c.kind === 'field' && c.name === 'email');
        batchFailed.push({
          row: recordNo,
          email: record.fields[emailAt]?.trim().slice(0, 254) || null,
          errors: result.errors,
        });
      } else {
        // One multi-row upsert cannot touch a row twice: a repeated email starts a new batch.
        if (batchEmails.has(result.input.email!)) await flush();
        batch.push({ row: recordNo, input: result.input });
        batchEmails.add(result.input.email!);
      }
      if (batch.length + batchFailed.length >= (deferred ? DEFERRED_BATCH_ROWS : IMPORT_BATCH_ROWS)) await flush();
    };

    const out: CsvRecord[] = [];
    for await (const chunk of stream) {
      if (shouldStop()) {
        await writing;
        await requeue(ctx, job.id, ownPayload);
        return;
      }
      parser.push(chunk as string, out);
      for (const record of out) await take(record);
      out.length = 0;
    }
    parser.end(out);
    for (const record of out) await take(record);
    await flush();
    await writing;
    if (recordNo === 0) {
      await finish('failed', 'The CSV file is empty.');
      return;
    }
    await finish('completed');
  } catch (err) {
    // A batch may still be on its way: its outcome decides what the job says.
    await writing.catch(() => {});
    if (err instanceof LostJob) return;
    // The store failed, not the file: the job goes back to the queue and resumes after its last
    // committed batch (if even that fails, it is taken again once it is stale).
    if (isStoreUnavailable(err)) {
      await requeue(ctx, job.id, ownPayload).catch(() => {});
      throw err;
    }
    if (err instanceof CsvError) {
      await finish('failed', `The file stops being readable CSV after row ${recordNo}: ${err.message}.`);
      return;
    }
    if (err instanceof ServiceError) {
      await finish('failed', err.detail);
      return;
    }
    ctx.log.error({ err, jobId: job.id }, 'subscriber import failed');
    await finish('failed', `An internal error stopped the import after ${counters.processed} rows.`);
    return;
  } finally {
    stream.destroy();
  }
}

/** Upserts one batch and records its counts in one transaction; returns the new counters and payload. */
async function writeBatch(
  ctx: Context,
  jobId: number,
  accountId: string,
  ownPayload: string,
  nextPayload: ImportPayload,
  counters: Counters,
  batch: readonly Pending[],
  failedRows: readonly RowError[],
): Promise<{ counters: Counters; payload: string }> {
  const now = ctx.clock();
  const payload = JSON.stringify(nextPayload);
  const next: Counters = { ...counters, errors: [...counters.errors] };
  const failed = [...failedRows];
  await ctx.db.transaction().execute(async (trx) => {
    const emails = batch.map((p) => p.input.email!);
    const blacklisted = (await hasBlacklist(trx, accountId))
      ? await findBlacklisted(trx, accountId, emails)
      : new Set<string>();
    const existing = await findSubscribersByEmails(trx, ctx.dialect, accountId, emails);
    const rows: NewSubscriberRow[] = [];
    const kept: Pending[] = [];
    for (const p of batch) {
      const email = p.input.email!;
      if (blacklisted.has(email)) {
        failed.push({ row: p.row, email, errors: { email: [BLACKLISTED] } });
        continue;
      }
      rows.push(mergedRow(accountId, existing.get(email), p.input, now));
      kept.push(p);
    }
    const ids = rows.length ? await upsertSubscribers(trx, rows) : new Map<string, number>();
    const values: FieldValueRow[] = [];
    for (const p of kept) {
      const id = ids.get(p.input.email!)!;
      for (const [field_id, v] of p.input.customerFields ?? [])
        values.push({ subscriber_id: id, field_id, value: v.value, value_num: v.valueNum });
      if (existing.has(p.input.email!)) next.updated++;
      else next.created++;
    }
    if (values.length) await writeFieldValues(trx, accountId, values);

    failed.sort((a, b) => a.row - b.row);
    next.failed += failed.length;
    next.processed += batch.length + failedRows.length;
    for (const e of failed) if (next.errors.length < MAX_RECORDED_ERRORS) next.errors.push(e);
    const progress = {
      processed: next.processed,
      created: next.created,
      updated: next.updated,
      failed: next.failed,
      errors: JSON.stringify(next.errors),
      payload,
    };
    if (!(await writeJobProgress(trx, jobId, ownPayload, progress, now))) throw new LostJob();
  });
  return { counters: next, payload };
}

/** Gives a job back to the queue when the process stops; it resumes after the last committed batch. */
async function requeue(ctx: Context, jobId: number, ownPayload: string): Promise<void> {
  await ctx.db
    .updateTable('jobs')
    .set({ status: 'queued', updated_at: ctx.clock() })
    .where('id', '=', jobId)
    .where('status', '=', 'running')
    .where('payload', '=', ownPayload)
    .execute();
}

/**
 * Runs queued imports in this process, one at a time. The files live on this node's disk, so a
 * node only takes jobs whose file it can read (with a shared data directory, any node can).
 */
export class ImportRunner {
  private readonly id = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  /** Whether an import (this process's, or one that crashed before it started) may have left indexes deferred. */
  private indexesMayBeMissing = true;
  private readonly outage: StoreOutage;

  constructor(private readonly ctx: Context) {
    this.outage = new StoreOutage(ctx.log.child({ component: 'imports' }), 'subscriber imports');
  }

  start(): void {
    this.timer = setInterval(() => this.notify(), POLL_MS);
    this.timer.unref();
    this.notify();
  }

  /** Looks for work now (called after an upload). */
  notify(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => void this.outage.succeeded())
      .catch((err: unknown) => {
        // Paused while the store is unavailable: the next poll tries again.
        if (!this.outage.failed(err)) this.ctx.log.error({ err }, 'the import runner failed');
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopping) {
          this.again = false;
          this.notify();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      const now = this.ctx.clock();
      const candidates = await claimableJobs(this.ctx.db, IMPORT_JOB_TYPE, now - STALE_AFTER_MS, 100);
      const job = candidates.find((j) => fs.existsSync(path.join(importsDir(this.ctx), parsePayload(j).file)));
      if (!job) {
        if (this.indexesMayBeMissing) await restoreDeferredIndexes(this.ctx);
        this.indexesMayBeMissing = false;
        return;
      }
      const ownPayload = JSON.stringify({ ...parsePayload(job), runner: `${this.id}:${now}` });
      if (!(await claimJob(this.ctx.db, job, ownPayload, now))) continue;
      this.indexesMayBeMissing = true;
      await runImport(this.ctx, job, ownPayload, () => this.stopping);
    }
  }
}
