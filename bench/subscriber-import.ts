// CSV import throughput: uploads a generated CSV of N subscribers (with a custom field) to
// POST /api/v1/subscribers/import on a fresh Posthorn and times the job until it completes, then
// imports the same file again (every row an update).
//
//   node bin/run-ts.mjs bench/subscriber-import.ts [rows]          (default 1,000,000; SQLite)
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bin/run-ts.mjs bench/subscriber-import.ts
//   BENCH_SQLITE_SYNCHRONOUS=NORMAL …   (the server default is FULL)
// Posthorn runs in this process; the figures include the bench's own polling.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { startPosthorn } from '../src/app.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-import-bench-'));
const csv = path.join(dir, 'subscribers.csv');

let databaseUrl = `sqlite:${path.join(dir, 'posthorn.db')}`;
let dropDatabase = async () => {};
if (process.env.BENCH_DATABASE_URL) {
  const name = `posthorn_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(process.env.BENCH_DATABASE_URL);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
}

const app = await startPosthorn(
  loadConfig({
    POSTHORN_DATA_DIR: dir,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    POSTHORN_SMTP_PORT: '0',
    POSTHORN_INBOUND_PORT: '0',
    LOG_LEVEL: 'warn',
    POSTHORN_SQLITE_SYNCHRONOUS: process.env.BENCH_SQLITE_SYNCHRONOUS || 'FULL',
  }),
);
const key = app.firstKey!;
const auth = `Basic ${Buffer.from(`bench:${key}`).toString('base64')}`;

async function api(method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(app.url + url, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

const field = await api('POST', '/api/v1/customerFields', {
  fieldType: 1,
  type: 2,
  translations: { en: { name: 'Points' } },
});
const fieldId = field.data.id;

// The file is written as a stream too: the bench itself must not hold a million rows.
const started = Date.now();
const out = fs.createWriteStream(csv);
out.write(`email,firstname,lastname,languageIso,genderId,city,customerFields.${fieldId}\n`);
for (let i = 0; i < rows; i++) {
  if (!out.write(`user${i}@example.com,First${i},"Last, ${i}",${i % 2 ? 'de' : 'en'},${(i % 3) + 1},Berlin,${i}\n`))
    await new Promise<void>((r) => out.once('drain', () => r()));
}
await new Promise<void>((r) => out.end(() => r()));
const bytes = fs.statSync(csv).size;
console.log(`${rows} rows, ${(bytes / 1e6).toFixed(1)} MB generated in ${Date.now() - started} ms`);

function upload(): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      app.url + '/api/v1/subscribers/import',
      { method: 'POST', headers: { authorization: auth, 'content-type': 'text/csv', 'content-length': bytes } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    fs.createReadStream(csv).pipe(req);
  });
}

for (const round of ['create', 'update']) {
  const t0 = Date.now();
  const accepted = await upload();
  const t1 = Date.now();
  let job: any;
  for (;;) {
    job = (await api('GET', `/api/v1/jobs/${accepted.data.id}`)).data;
    if (job.status === 'completed' || job.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const t2 = Date.now();
  console.log(
    `${round}: upload ${t1 - t0} ms, import ${t2 - t1} ms (${Math.round(rows / ((t2 - t1) / 1000))} rows/s); ` +
      `status ${job.status}, processed ${job.processed}, created ${job.created}, updated ${job.updated}, failed ${job.failed}`,
  );
}

await app.close();
await dropDatabase();
fs.rmSync(dir, { recursive: true, force: true });
