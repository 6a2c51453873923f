// Prints the recorded runs (bench/results/*.jsonl) as Markdown tables, for BENCHMARKS.md:
// `node bin/run-ts.mjs bench/report.ts`.
import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR } from './lib/results.ts';

function read(name: string): Array<Record<string, any>> {
  const file = path.join(RESULTS_DIR, `${name}.jsonl`);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log();
}

const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');
const code = (r: Record<string, any>) =>
  r.code ? `${r.code.commit}${r.code.modifiedSrcFiles ? ` +${r.code.modifiedSrcFiles} edited` : ''}` : '?';

const accept = read('accept');
console.log('### Accept runs\n');
table(
  [
    'date (UTC)',
    'code',
    'store',
    'role',
    'conns × s',
    'req/s',
    'p50',
    'p90',
    'p99',
    'non-2xx',
    'durable',
    'server CPU/req',
    'server cores',
    'other cores',
  ],
  accept.map((r) => [
    when(r.date),
    code(r),
    r.sqliteSynchronous && r.sqliteSynchronous !== 'FULL' && r.store === 'sqlite'
      ? `sqlite (${r.sqliteSynchronous})`
      : r.store,
    r.messageStatuses && r.role === 'all'
      ? `all (captured ${r.messageStatuses.captured ?? 0} of ${r.transmissionsInDb})`
      : r.role,
    `${r.connections} × ${Math.round(r.durationS)}`,
    r.requestsPerSecond,
    `${r.latencyMs.p50} ms`,
    `${r.latencyMs.p90} ms`,
    `${r.latencyMs.p99} ms`,
    r.non2xx,
    r.durable
      ? `yes (${r.transmissionsInDb} in DB = ${r.acknowledgedTotal} acknowledged + ${r.committedButUnanswered} unread)`
      : 'NO',
    `${r.serverCpuMsPerRequest} ms`,
    r.serverCoresBusy,
    r.otherCoresBusyDuring,
  ]),
);

const deliver = read('deliver');
console.log('### Delivery runs\n');
table(
  [
    'date (UTC)',
    'code',
    'store',
    'messages',
    'concurrency × batch',
    'msg/s',
    'steady msg/s',
    'DKIM-signed',
    'verify',
    'all recorded',
    'worker CPU/msg',
    'worker cores',
    'sink cores',
    'other cores',
  ],
  deliver.map((r) => [
    when(r.date),
    code(r),
    r.store,
    r.messages,
    `${r.workerConcurrency} × ${r.workerBatch}`,
    r.completed === false ? `${r.messagesPerSecond} (timed out)` : r.messagesPerSecond,
    r.steadyMessagesPerSecond,
    `${r.dkimSigned}/${r.received}`,
    r.sampleDkimVerify,
    r.secondsUntilAllRecorded === null ? '—' : `${r.secondsUntilAllRecorded} s`,
    `${r.workerCpuMsPerMessage} ms`,
    r.workerCoresBusy,
    r.sinkCoresBusy,
    r.otherCoresBusyDuring,
  ]),
);
