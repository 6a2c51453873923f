// CSV import throughput: 1,000,000 generated subscribers (bench/lib/marketing-data.ts) uploaded to
// POST /api/v1/subscribers/import (Content-Type: text/csv, the body streamed from the file), then
// GET /api/v1/jobs/{id} polled until the job ends. Posthorn runs as a child process on SQLite.
//
//   node bin/run-ts.mjs bench/marketing-import.ts [--rows 1000000] [--seed 1]
//   BENCH_DATA_DIR=/tmp/mkt-1m …   keeps the data dir (database + CSV) for bench/marketing-list.ts;
//                                  an unfinished import there is resumed, a finished one is kept.
//   --max-seconds 170              stop (job requeued) after this long; run again to resume.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { loadAverage } from './lib/posthorn-process.ts';
import { writeSubscriberCsv } from './lib/marketing-data.ts';
import { startMarketingServer, subscriberTotal } from './lib/marketing-server.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { readOptions, positiveInt } from './lib/options.ts';
import { appendResult, round } from './lib/results.ts';

const TARGET_SECONDS = 60;

const opts = readOptions({
  rows: { env: 'BENCH_ROWS', default: '1000000' },
  seed: { env: 'BENCH_SEED', default: '1' },
  dataDir: { env: 'BENCH_DATA_DIR', default: '' },
  maxSeconds: { env: 'BENCH_MAX_SECONDS', default: '170' },
});
const rows = positiveInt(opts.rows, 'rows');
console.log(machineLine(describeMachine()));

// The CSV is kept beside the data (or in tmp): making it is not part of the figure.
const csvDir = opts.dataDir ? path.resolve(opts.dataDir) : os.tmpdir();
fs.mkdirSync(csvDir, { recursive: true });
const csv = path.join(csvDir, `marketing-subscribers-${rows}-seed${opts.seed}.csv`);
if (!fs.existsSync(csv)) {
  const g0 = performance.now();
  const bytes = await writeSubscriberCsv(csv, rows, Number(opts.seed));
  console.log(`generated ${rows} rows, ${round(bytes / 1e6, 1)} MB in ${round(performance.now() - g0)} ms → ${csv}`);
}
const bytes = fs.statSync(csv).size;

// Each run is kept under --max-seconds (default 170; the bench rule is < 3 minutes a run): when the
// import is not done by then, the server is stopped with SIGTERM, which requeues the job after its
// last committed batch, and the next run with the same BENCH_DATA_DIR resumes it. The segments'
// times are summed in bench-import-segments.json, so the total is the import's own time.
const maxSeconds = positiveInt(opts.maxSeconds, 'max-seconds');
const segmentsFile = opts.dataDir ? path.join(path.resolve(opts.dataDir), 'bench-import-segments.json') : null;
interface Segment {
  seconds: number;
  processedFrom: number;
  processedTo: number;
  serverCpu: number;
  loadAverage: number;
  upload?: number;
}
const segments: Segment[] =
  segmentsFile && fs.existsSync(segmentsFile) ? JSON.parse(fs.readFileSync(segmentsFile, 'utf8')) : [];

const started = performance.now();
// Info level: the server logs whether the import deferred the filter indexes and how long their rebuild took.
const server = await startMarketingServer('import', opts.dataDir || undefined, { LOG_LEVEL: 'info' });
try {
  const jobs = server.dataDir ? openJobs(path.join(server.dataDir, 'posthorn.db')) : [];
  const unfinished = jobs.find((j) => j.status === 'queued' || j.status === 'running');
  const done = jobs.find((j) => j.status === 'completed');
  if (done && !unfinished) {
    console.log(
      `${server.dataDir} already holds a completed import (job ${done.id}): nothing to do; use a fresh BENCH_DATA_DIR to measure again`,
    );
  } else {
    const cpu0 = server.process.cpuSeconds();
    const t0 = performance.now();
    let jobId: number;
    let uploadSeconds: number | undefined;
    if (unfinished) {
      jobId = unfinished.id;
      console.log(`resuming job ${jobId} (${unfinished.processed} rows done in ${segments.length} earlier run(s))`);
    } else {
      const accepted = await server.client.upload('/api/v1/subscribers/import', csv, 'text/csv');
      if (accepted.status !== 202)
        throw new Error(`import answered ${accepted.status}: ${JSON.stringify(accepted.body).slice(0, 500)}`);
      uploadSeconds = (performance.now() - t0) / 1000;
      jobId = accepted.body.data.id;
      console.log(`  upload (${round(bytes / 1e6, 1)} MB) answered 202 in ${round(uploadSeconds, 2)} s`);
    }
    const processedFrom = unfinished?.processed ?? 0;
    let job: any;
    let lastPrint = performance.now();
    let getMs = 0;
    let polls = 0;
    for (;;) {
      const res = await server.client.get(`/api/v1/jobs/${jobId}`);
      job = res.body.data;
      getMs = Math.max(getMs, res.ms);
      polls++;
      if (job.status === 'completed' || job.status === 'failed') break;
      if (performance.now() - lastPrint > 10_000) {
        lastPrint = performance.now();
        console.log(
          `  ${round((performance.now() - t0) / 1000, 1)} s: ${job.status}, ${job.progress}%, processed ${job.processed} (slowest job GET so far ${round(getMs)} ms)`,
        );
      }
      if ((performance.now() - started) / 1000 > maxSeconds) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    const indexes = isFinished(job) ? await indexRebuild(server.process.logFile) : null;
    const serverCpu = server.process.cpuSeconds() - cpu0;
    segments.push({
      seconds: round(seconds, 2),
      processedFrom,
      processedTo: job.processed,
      serverCpu: round(serverCpu, 1),
      loadAverage: loadAverage(),
      upload: uploadSeconds && round(uploadSeconds, 2),
    });
    if (segmentsFile) fs.writeFileSync(segmentsFile, JSON.stringify(segments, null, 1));
    const finished = isFinished(job);
    const totalSeconds = segments.reduce((a, s) => a + s.seconds, 0);
    const total = finished ? await subscriberTotal(server.client) : job.processed;
    const record = {
      rows,
      MB: round(bytes / 1e6, 1),
      runs: segments.length,
      'upload s': segments[0]?.upload ?? '',
      'import s (sum of runs)': round(totalSeconds, 1),
      'rows/s': Math.round(job.processed / totalSeconds),
      'target ≤60 s': finished
        ? totalSeconds <= TARGET_SECONDS
          ? 'met'
          : 'MISSED'
        : totalSeconds > TARGET_SECONDS
          ? 'MISSED (not done yet)'
          : 'not done yet',
      'server CPU s': round(
        segments.reduce((a, s) => a + s.serverCpu, 0),
        1,
      ),
      'slowest job GET ms': round(getMs),
      // SQLite: whether the filter indexes were deferred, and how long their rebuild took (part of the import s).
      'filter indexes': indexes ?? '',
      status: job.status,
      processed: job.processed,
      created: job.created,
      updated: job.updated,
      failed: job.failed,
      'total (GET)': finished ? total : '',
      'count ok': finished ? (total === rows && job.created === rows ? 'yes' : 'NO') : '',
    };
    console.log(JSON.stringify(record));
    if (!finished)
      console.log(
        `not finished within ${maxSeconds} s: stopping the server (the job is requeued); run again with the same BENCH_DATA_DIR to resume`,
      );
    if (job.errors?.length) console.log('first job errors:', JSON.stringify(job.errors.slice(0, 3)));
    appendResult('marketing-import', {
      at: new Date().toISOString(),
      machine: describeMachine(),
      settings: server.settings,
      dataDir: server.dataDir,
      segments,
      ...record,
    });
  }
} finally {
  server.client.close();
  await server.stop();
}

function isFinished(job: { status: string }): boolean {
  return job.status === 'completed' || job.status === 'failed';
}

/** "deferred, rebuilt in N s" from the server's log (info level), or "maintained per row". */
async function indexRebuild(logFile: string): Promise<string> {
  await new Promise((r) => setTimeout(r, 300)); // the log is piped through this process
  const lines = fs.readFileSync(logFile, 'utf8').split('\n');
  const rebuilt = lines.find((l) => l.includes('subscriber filter indexes rebuilt'));
  if (!rebuilt) return lines.some((l) => l.includes('filter indexes deferred')) ? 'deferred' : 'maintained per row';
  return `deferred, ${JSON.parse(rebuilt).built} rebuilt in ${round(JSON.parse(rebuilt).ms / 1000, 1)} s`;
}

/** The jobs of a bench database, read directly (the API lists no jobs). */
function openJobs(file: string): Array<{ id: number; status: string; processed: number }> {
  if (!fs.existsSync(file)) return [];
  const db = new SQLite(file, { readonly: true });
  try {
    return db.prepare('select id, status, processed from jobs order by id').all() as Array<{
      id: number;
      status: string;
      processed: number;
    }>;
  } finally {
    db.close();
  }
}
